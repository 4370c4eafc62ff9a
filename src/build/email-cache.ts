// The build's cache of compiled emails: an MJML compile costs milliseconds, so an unchanged article is
// compiled once and then read back by the hash of everything that went into it.

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompiledEmail } from '../email/model.ts';
import type { EmailTemplates } from '../email/read-templates.ts';
import { KurierError } from '../error.ts';
import type { Site } from '../model.ts';

/** Bumped whenever the email code changes what it makes from the same input. */
const CACHE_FORMAT = 2;

/**
 * `article`: a hash of all the article is made from (its source, the settings and the code, see
 * parse-cache.ts), so that a cached email is found without parsing the article; `compiler` the version of
 * the code that compiles it.
 */
export function planEmailCacheKey(
  site: Site,
  article: string,
  templates: EmailTemplates,
  compiler: string,
): string {
  const { sourcePath: _site, ...siteFields } = site;
  return createHash('sha256')
    .update(JSON.stringify({ format: CACHE_FORMAT, compiler, site: siteFields, article, templates }))
    .digest('hex');
}

export async function readCachedEmail(cacheDir: string, key: string): Promise<CompiledEmail | undefined> {
  try {
    return JSON.parse(await readFile(path.join(cacheDir, `${key}.json`), 'utf8')) as CompiledEmail;
  } catch {
    // A missing or unreadable entry only costs a recompile.
    return undefined;
  }
}

export async function writeCachedEmail(cacheDir: string, key: string, email: CompiledEmail): Promise<void> {
  const target = path.join(cacheDir, `${key}.json`);
  const temporary = `${target}.${process.pid}.tmp`;
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeFile(temporary, JSON.stringify(email));
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    // Nothing is lost and out/ is untouched; the fix is the writer's, so no stack trace.
    throw new KurierError(
      'WRITE_FAILED',
      `cannot write the email cache in the private state folder (${(error as Error).message}); out/ was not changed. Make the folder writable, free some space, or choose another with --state or KURIER_STATE_DIR.`,
      { file: target, cause: error },
    );
  }
}

/** Drops entries no article uses any more, so the cache does not grow with every edit. */
export async function pruneEmailCache(cacheDir: string, keep: ReadonlySet<string>): Promise<void> {
  const names = await readdir(cacheDir).catch(() => []);
  await Promise.all(
    names
      .filter((name) => name.endsWith('.json') && !keep.has(name.slice(0, -'.json'.length)))
      // A stale entry left behind (a read-only state folder) only takes disk space; it harms no build.
      .map((name) => rm(path.join(cacheDir, name), { force: true }).catch(() => undefined)),
  );
}
