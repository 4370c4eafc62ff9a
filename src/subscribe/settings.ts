// The settings of the subscription side from the environment (and .env): where the store lives, the secrets
// that sign links, the public URL of `kurier server`. Checked once.

import type { Env } from '../context.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';

const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const schema = z.object({
  DATABASE_URL: optional,
  KURIER_SECRET: optional,
  KURIER_OLD_SECRETS: optional,
  KURIER_PUBLIC_URL: optional,
});

export interface SubscriptionEnv {
  readonly databaseUrl: string | undefined;
  /** The key ring's secrets: KURIER_SECRET first (it signs), then KURIER_OLD_SECRETS (still accepted). */
  readonly secrets: readonly string[];
  readonly publicUrl: URL | undefined;
}

export function parseSubscriptionEnv(env: Env): SubscriptionEnv {
  const values = schema.parse(env);
  const old = (values.KURIER_OLD_SECRETS ?? '').split(/[\s,]+/).filter((secret) => secret !== '');
  const secrets = [...(values.KURIER_SECRET === undefined ? [] : [values.KURIER_SECRET]), ...old];
  for (const secret of secrets) {
    if (secret.length < 16) {
      throw new KurierError(
        'ENV_INVALID',
        'KURIER_SECRET and every entry of KURIER_OLD_SECRETS must be at least 16 characters (e.g. openssl rand -hex 32).',
      );
    }
  }
  let publicUrl: URL | undefined;
  if (values.KURIER_PUBLIC_URL !== undefined) {
    try {
      publicUrl = new URL(values.KURIER_PUBLIC_URL);
    } catch {
      publicUrl = undefined;
    }
    if (publicUrl === undefined || !/^https?:$/.test(publicUrl.protocol)) {
      throw new KurierError(
        'ENV_INVALID',
        'KURIER_PUBLIC_URL must be the http(s) URL where kurier server is reached, e.g. https://kurier.example/newsletter/.',
      );
    }
    if (!publicUrl.pathname.endsWith('/')) publicUrl.pathname += '/';
  }
  return { databaseUrl: values.DATABASE_URL, secrets, publicUrl };
}
