// `kurier new`: the first draft of an article written to content/posts/, never over an existing file.

import { open } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import { planNewArticle, planNewSlugs } from './new-article.ts';
import { POSTS_DIR } from './read-content.ts';
import { readSite } from './read-site.ts';

export interface WrittenArticle {
  /** Relative to the project root. */
  readonly path: string;
  /** Why the slug is not the title's (cut to length, or the date); for the author to read. */
  readonly note?: string;
}

/** Writes the draft under the first free slug of `planNewSlugs`; every one taken is DUPLICATE_SLUG. */
export async function writeNewArticle(
  root: string,
  title: string,
  now: Date,
  slug?: string,
): Promise<WrittenArticle> {
  const site = await readSite(root);
  const { slugs, note } = planNewSlugs(site, title, now, slug);
  for (const candidate of slugs) {
    const article = planNewArticle(site, title, now, candidate);
    // O_EXCL: never overwrite an article that already has this slug.
    const handle = await open(path.join(root, article.path), 'wx').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') return undefined;
      throw new KurierError('WRITE_FAILED', `cannot create ${article.path} (${error.message}).`, {
        file: article.path,
        cause: error,
      });
    });
    if (handle === undefined) continue;
    try {
      await handle.writeFile(article.text);
    } finally {
      await handle.close();
    }
    return note === undefined ? { path: article.path } : { path: article.path, note };
  }
  const taken = `${POSTS_DIR}/${slugs[0]}.md`;
  throw new KurierError('DUPLICATE_SLUG', `${taken} exists already: choose another title or --slug.`, {
    file: taken,
  });
}
