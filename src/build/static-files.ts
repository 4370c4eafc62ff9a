// static/ → out/: images, a favicon, a CNAME … copied as they are, next to what the build renders.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import type { OutputFile } from '../model.ts';

export const STATIC_DIR = 'static';

// Dotfiles such as .htaccess, .nojekyll or .well-known/ are published; only the litter of tools is not.
const IGNORED = new Set(['.DS_Store', 'Thumbs.db', '.gitkeep', 'desktop.ini']);

/** Every file below `dir` (none when it does not exist), with "/"-separated paths. */
export async function readStaticFiles(dir: string): Promise<OutputFile[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  // A link was skipped without a word (a missing image on the site); following it could publish any file.
  const linked = entries.find((entry) => entry.isSymbolicLink() && !IGNORED.has(entry.name));
  if (linked !== undefined) {
    const name = path.relative(dir, path.join(linked.parentPath, linked.name)).split(path.sep).join('/');
    throw new KurierError(
      'CONTENT_INVALID',
      `${STATIC_DIR}/${name} is a symbolic link; Kurier publishes only real files from ${STATIC_DIR}/, so that nothing from elsewhere on the disk is published by accident: copy it here instead of linking it.`,
      { file: `${STATIC_DIR}/${name}` },
    );
  }
  const files = entries
    .filter((entry) => entry.isFile() && !IGNORED.has(entry.name))
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
  return Promise.all(
    files.map(async (file) => ({ path: file, content: await readFile(path.join(dir, file)) })),
  );
}

/** The build's files plus the static ones; a static file may not take the place of a rendered one. */
export function planOutput(
  rendered: readonly OutputFile[],
  staticFiles: readonly OutputFile[],
): OutputFile[] {
  const renderedPaths = new Set(rendered.map((file) => file.path));
  const clash = staticFiles.find((file) => renderedPaths.has(file.path));
  if (clash !== undefined) {
    throw new KurierError(
      'OUT_DIR_UNSAFE',
      `static/${clash.path} would replace the ${clash.path} that the build makes: rename or remove it.`,
      { file: `${STATIC_DIR}/${clash.path}` },
    );
  }
  return [...rendered, ...staticFiles];
}
