// The setting of a run, resolved once by the CLI entry for every command: the .env file merged under the
// process environment, and where out/ and the private state folder are (never one inside the other).

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseEnv } from 'node:util';
import type { CommandContext, Env, Paths, RunContext } from './context.ts';
import { KurierError } from './error.ts';

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

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * out/ and the state folder from the options (--out, --state), KURIER_STATE_DIR or the defaults. They must
 * be apart: the build replaces what is in out/, and subscriber data, journals and the suppression list
 * must never be published or deleted with it.
 */
export function planPaths(
  root: string,
  env: Env,
  options: { readonly out?: string | undefined; readonly state?: string | undefined },
): Paths {
  const paths = {
    outDir: path.resolve(root, options.out ?? 'out'),
    stateDir: path.resolve(root, options.state ?? env.KURIER_STATE_DIR ?? '.kurier'),
  };
  if (isInside(paths.outDir, paths.stateDir) || isInside(paths.stateDir, paths.outDir)) {
    throw new KurierError(
      'OUT_DIR_UNSAFE',
      `the private state folder ${paths.stateDir} overlaps the published folder ${paths.outDir}; subscriber data, journals and the suppression list must never be published or replaced by a build: choose another --out, --state or KURIER_STATE_DIR.`,
    );
  }
  return paths;
}

/** The context a command runs with: `.env` read and merged, the paths of its options resolved and checked. */
export async function resolveRunContext(
  context: CommandContext,
  values: Readonly<Record<string, unknown>>,
): Promise<RunContext> {
  const env = mergeEnv(await readEnvFile(context.root), context.env);
  const option = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const paths = planPaths(context.root, env, { out: option('out'), state: option('state') });
  return { ...context, env, paths };
}
