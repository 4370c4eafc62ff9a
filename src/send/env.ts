// The send settings from the environment and the project's .env file (environment wins), checked once.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseEnv } from 'node:util';
import type { Env } from '../commands/command.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import type { DkimSettings } from './transport.ts';

export const ENV_FILE = '.env';

/** Reads `.env` at the project root (absent is fine); no dotenv dependency, node:util parses it. */
export async function readEnvFile(root: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path.join(root, ENV_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new KurierError('ENV_INVALID', `cannot read ${ENV_FILE} (${(error as Error).message}).`, {
      file: ENV_FILE,
      cause: error,
    });
  }
  const parsed = parseEnv(text);
  return Object.fromEntries(
    Object.entries(parsed).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** The environment wins over .env, so a deployment can override what the file says. */
export function mergeEnv(file: Readonly<Record<string, string>>, env: Env): Env {
  const merged: Record<string, string | undefined> = { ...file };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  return merged;
}

const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const sendEnvSchema = z.object({
  SMTP_URL: optional.pipe(
    z
      .string()
      .transform((text, context) => {
        try {
          return new URL(text);
        } catch {
          context.addIssue({ code: 'custom', message: 'SMTP_URL is not a URL' });
          return z.NEVER;
        }
      })
      .refine((url) => url.protocol === 'smtp:' || url.protocol === 'smtps:', {
        message: 'SMTP_URL must start with smtp:// (STARTTLS, port 587) or smtps:// (TLS, port 465)',
      })
      .optional(),
  ),
  KURIER_SECRET: optional.pipe(
    z.string().min(16, 'KURIER_SECRET must be at least 16 characters (e.g. openssl rand -hex 32)').optional(),
  ),
  DKIM_PRIVATE_KEY: optional,
  DKIM_PRIVATE_KEY_FILE: optional,
  DKIM_SELECTOR: optional,
  DKIM_DOMAIN: optional,
});

export interface SendEnv {
  readonly smtpUrl: URL | undefined;
  readonly secret: string | undefined;
  readonly dkim: DkimSettings | undefined;
}

/** Checks the send variables; reads the DKIM key file when one is named. */
export async function readSendEnv(root: string, env: Env): Promise<SendEnv> {
  const parsed = sendEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KurierError(
      'ENV_INVALID',
      `${issue?.message ?? 'invalid environment'}; fix it in the environment or in ${ENV_FILE}.`,
    );
  }
  const values = parsed.data;
  // CI secrets often carry a PEM key on one line with literal "\n"s.
  let privateKey = values.DKIM_PRIVATE_KEY?.includes('\n')
    ? values.DKIM_PRIVATE_KEY
    : values.DKIM_PRIVATE_KEY?.replaceAll('\\n', '\n');
  if (privateKey === undefined && values.DKIM_PRIVATE_KEY_FILE !== undefined) {
    const file = path.resolve(root, values.DKIM_PRIVATE_KEY_FILE);
    try {
      privateKey = await readFile(file, 'utf8');
    } catch (error) {
      throw new KurierError(
        'ENV_INVALID',
        `cannot read DKIM_PRIVATE_KEY_FILE (${(error as Error).message}); point it at the PEM file of your DKIM key.`,
        { file, cause: error },
      );
    }
  }
  const dkimParts = [privateKey, values.DKIM_SELECTOR, values.DKIM_DOMAIN];
  let dkim: DkimSettings | undefined;
  if (dkimParts.some((part) => part !== undefined)) {
    if (privateKey === undefined || values.DKIM_SELECTOR === undefined || values.DKIM_DOMAIN === undefined) {
      throw new KurierError(
        'ENV_INVALID',
        'DKIM signing needs all of DKIM_PRIVATE_KEY (or DKIM_PRIVATE_KEY_FILE), DKIM_SELECTOR and DKIM_DOMAIN; set the missing ones or none.',
      );
    }
    dkim = { privateKey, keySelector: values.DKIM_SELECTOR, domainName: values.DKIM_DOMAIN };
  }
  return { smtpUrl: values.SMTP_URL, secret: values.KURIER_SECRET, dkim };
}
