// The send settings of the environment (the CLI entry has merged .env into it), checked once.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Env } from '../context.ts';
import { ENV_FILE } from '../environment.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import type { DkimSettings, SmtpServer } from './transport.ts';

const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const PERCENT_ADVICE =
  'percent-encode user and password in SMTP_URL: node -e "console.log(encodeURIComponent(process.argv[1]))" \'your password\' prints the form to use ("%" becomes %25, "@" %40, "/" %2F, ":" %3A)';

function decodePart(text: string, what: string, context: z.RefinementCtx): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    context.addIssue({
      code: 'custom',
      message: `the ${what} in SMTP_URL has a "%" that does not start an escape like %25; ${PERCENT_ADVICE}`,
    });
    return undefined;
  }
}

function parseSmtpUrl(text: string, context: z.RefinementCtx): SmtpServer | typeof z.NEVER {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    context.addIssue({
      code: 'custom',
      message: `SMTP_URL is not a URL (expected smtp://user:password@host:587); if the password has special characters, ${PERCENT_ADVICE}`,
    });
    return z.NEVER;
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    context.addIssue({
      code: 'custom',
      message: 'SMTP_URL must start with smtp:// (STARTTLS, port 587) or smtps:// (TLS, port 465)',
    });
    return z.NEVER;
  }
  // A raw "#", "?" or "/" in the password ends the URL's authority early: the rest becomes a path, query
  // or fragment, and the login silently lacks it.
  if (url.hash !== '' || url.search !== '' || (url.pathname !== '' && url.pathname !== '/')) {
    context.addIssue({
      code: 'custom',
      message: `SMTP_URL has a path, "?" or "#" after the host, which is what a raw "/", "?" or "#" in the password makes of it; ${PERCENT_ADVICE}`,
    });
    return z.NEVER;
  }
  const user = url.username === '' ? undefined : decodePart(url.username, 'user', context);
  const pass = url.username === '' ? undefined : decodePart(url.password, 'password', context);
  if (url.username !== '' && (user === undefined || pass === undefined)) return z.NEVER;
  const secure = url.protocol === 'smtps:';
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    user,
    pass,
    description: `${url.protocol}//${url.host}${user === undefined ? '' : ` as ${user}`}`,
  };
}

const SECRET_ADVICE = 'make one with: openssl rand -hex 32';

/**
 * Whether a secret looks random enough to sign unsubscribe links: at least 32 characters, and an
 * entropy estimate from its own character frequencies of at least 96 bits. A random hex string of 32
 * characters has about 110; "aaaa…", "abab…" or a word repeated have far less.
 */
export function secretProblem(secret: string): string | undefined {
  const chars = [...secret];
  if (chars.length < 32)
    return `KURIER_SECRET has ${chars.length} characters, it needs at least 32; ${SECRET_ADVICE}`;
  const counts = new Map<string, number>();
  for (const char of chars) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) bits -= count * Math.log2(count / chars.length);
  if (counts.size < 8 || bits < 96) {
    return `KURIER_SECRET is too predictable (${counts.size} different characters); use a random one: ${SECRET_ADVICE}`;
  }
  return undefined;
}

const sendEnvSchema = z.object({
  SMTP_URL: optional.pipe(z.string().transform(parseSmtpUrl).optional()),
  KURIER_SECRET: optional.pipe(
    z
      .string()
      .superRefine((secret, context) => {
        const problem = secretProblem(secret);
        if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
  ),
  DKIM_PRIVATE_KEY: optional,
  DKIM_PRIVATE_KEY_FILE: optional,
  DKIM_SELECTOR: optional,
  DKIM_DOMAIN: optional,
});

export interface SendEnv {
  readonly smtp: SmtpServer | undefined;
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
  return { smtp: values.SMTP_URL, secret: values.KURIER_SECRET, dkim };
}
