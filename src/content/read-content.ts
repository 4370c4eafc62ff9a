// The disk side of content/: reads the settings and every article file as text, nothing more.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import { SETTINGS_FILE } from './settings.ts';

export interface SourceFile {
  /** Relative to the project root, "/"-separated: what error messages show. */
  readonly path: string;
  readonly text: string;
}

export interface ContentSources {
  readonly settings: SourceFile;
  readonly articles: readonly SourceFile[];
}

export const POSTS_DIR = 'content/posts';

async function listMarkdown(root: string, dir: string): Promise<string[]> {
  const entries = await readdir(path.join(root, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md') && !entry.name.startsWith('.'))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

export async function readContentSources(root: string): Promise<ContentSources> {
  const read = async (file: string): Promise<SourceFile> => ({
    path: file,
    text: await readFile(path.join(root, file), 'utf8'),
  });
  const settings = await read(SETTINGS_FILE).catch((error: unknown) => {
    throw new KurierError(
      'SETTINGS_INVALID',
      `cannot read the publication settings (${(error as Error).message}); create ${SETTINGS_FILE} (see README).`,
      { file: SETTINGS_FILE, cause: error },
    );
  });
  const files = await listMarkdown(root, POSTS_DIR).catch(() => []);
  const articles: SourceFile[] = [];
  // Bounded parallelism: enough to hide disk latency, few enough not to exhaust file descriptors.
  for (let start = 0; start < files.length; start += 64) {
    articles.push(...(await Promise.all(files.slice(start, start + 64).map(read))));
  }
  return { settings, articles };
}
