// The disk side of templates/ for the web pages: the page templates, their partials and the stylesheet.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import type { PageTemplates } from '../render/pages.ts';

export async function readPageTemplates(templatesDir: string): Promise<PageTemplates> {
  const read = (name: string) =>
    readFile(path.join(templatesDir, name), 'utf8').catch((error: unknown) => {
      throw new KurierError(
        'TEMPLATE_INVALID',
        `cannot read the template (${(error as Error).message}); restore it from Kurier's templates/ folder.`,
        { file: path.join('templates', name), cause: error },
      );
    });
  const partialNames = (await readdir(path.join(templatesDir, 'partials')).catch(() => []))
    .filter((name) => name.endsWith('.hbs'))
    .sort();
  const partials: Record<string, string> = {};
  for (const name of partialNames) partials[name.slice(0, -'.hbs'.length)] = await read(`partials/${name}`);
  return {
    article: await read('article.hbs'),
    index: await read('index.hbs'),
    partials,
    stylesheet: await read('style.css'),
  };
}
