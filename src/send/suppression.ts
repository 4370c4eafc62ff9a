// The suppression list: addresses that must never be mailed again (unsubscribed, hard-bounced); it wins over the CSV.

import { access } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { parseAddress } from './address.ts';
import { AppendLog, parseJsonOrUndefined, readLines } from './files.ts';

export const SUPPRESSION_FILE = 'suppressed.jsonl';

const entrySchema = z.object({
  email: z.string().min(1),
  reason: z.enum(['unsubscribed', 'bounced', 'complained']).default('unsubscribed'),
  /** ISO date. */
  at: z.string().optional(),
  /** The SMTP reply of a hard bounce. */
  detail: z.string().optional(),
});

export type SuppressionEntry = z.output<typeof entrySchema>;

export function suppressionFile(stateDir: string): string {
  return path.join(stateDir, SUPPRESSION_FILE);
}

/**
 * Reads the lowercased addresses of the list. A line is a JSON object (what Kurier appends) or, so that an
 * unsubscribe form or a person can add to it with `echo`, a bare address; `#` starts a comment.
 */
export async function readSuppression(stateDir: string): Promise<Set<string>> {
  const file = suppressionFile(stateDir);
  const keys = new Set<string>();
  try {
    await access(file);
  } catch {
    return keys;
  }
  for await (const line of readLines(file)) {
    const text = line.text.trim();
    if (text === '' || text.startsWith('#')) continue;
    let email: string;
    if (text.startsWith('{')) {
      const parsed = entrySchema.safeParse(parseJsonOrUndefined(text));
      if (!parsed.success) {
        throw new KurierError(
          'SUBSCRIBERS_INVALID',
          'this line of the suppression list is neither a JSON entry nor an address; fix it (the list decides who must never be mailed).',
          { file, line: line.number },
        );
      }
      email = parsed.data.email;
    } else {
      email = text;
    }
    const address = parseAddress(email);
    // An address that cannot be parsed can never be sent to either; the lowercased text still blocks it.
    keys.add(address.ok ? address.key : email.toLowerCase());
  }
  return keys;
}

/** Appends entries durably (hard bounces found during a send). */
export class SuppressionWriter {
  readonly #log: AppendLog;

  private constructor(log: AppendLog) {
    this.#log = log;
  }

  static async open(stateDir: string): Promise<SuppressionWriter> {
    return new SuppressionWriter(await AppendLog.open(suppressionFile(stateDir)));
  }

  add(entry: SuppressionEntry): Promise<void> {
    return this.#log.append(JSON.stringify(entry));
  }

  close(): Promise<void> {
    return this.#log.close();
  }
}
