// The suppression list: addresses that must never be mailed again (unsubscribed, hard-bounced); it wins over the CSV.

import { access } from 'node:fs/promises';
import path from 'node:path';
import { parseAddress } from '../address.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { JsonLinesLog, parseJsonLine, readLines } from './files.ts';

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
 * unsubscribe form or a person can add to it with `echo`, a bare address (or "Name <address>"); `#` starts a
 * comment. Every complete line counts, the last one too when it lacks its newline; a line that is not an
 * address stops the run: this list decides who must never be mailed, so a guess is not good enough.
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
    const email = text.startsWith('{')
      ? parseJsonLine(entrySchema, text)?.email
      : (/<([^<>]*)>\s*$/.exec(text)?.[1] ?? text);
    const address = email === undefined ? undefined : parseAddress(email);
    if (address === undefined || !address.ok) {
      throw new KurierError(
        'SUPPRESSION_INVALID',
        `this line of the suppression list is neither a JSON entry nor an address${address === undefined ? '' : ` (${address.reason})`}; fix it: the list decides who must never be mailed.`,
        { file, line: line.number },
      );
    }
    keys.add(address.key);
  }
  return keys;
}

/** Appends entries durably (hard bounces found during a send); never rewrites what a person wrote. */
export type SuppressionWriter = JsonLinesLog<SuppressionEntry>;

export function openSuppressionWriter(stateDir: string): Promise<SuppressionWriter> {
  return JsonLinesLog.open<SuppressionEntry>(suppressionFile(stateDir));
}
