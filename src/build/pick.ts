// The article a send is about: built with the rest, picked by slug (or the newest), its email compiled.

import path from 'node:path';
import { compileEmail } from '../email/compile.ts';
import type { CompiledEmail } from '../email/model.ts';
import { readEmailTemplates } from '../email/read-templates.ts';
import { KurierError } from '../error.ts';
import type { Article } from '../model.ts';
import { type BuildOptions, type BuildResult, buildPublication } from './build.ts';

export interface PickedArticle {
  readonly build: BuildResult;
  readonly article: Article;
  readonly email: CompiledEmail;
}

/** Builds the publication, then picks the newest published article or the one with `slug`. */
export async function buildAndPickArticle(
  options: BuildOptions,
  slug: string | undefined,
): Promise<PickedArticle> {
  const build = await buildPublication(options);
  const article = slug === undefined ? build.articles[0] : build.articles.find((a) => a.slug === slug);
  if (article === undefined) {
    if (slug === undefined) {
      throw new KurierError(
        'CONTENT_EMPTY',
        'there is no published article to send; write one (kurier new) first.',
      );
    }
    const known = build.articles.slice(0, 5).map((a) => a.slug);
    throw new KurierError(
      'ARTICLE_NOT_FOUND',
      `no published article has the slug "${slug}"${known.length > 0 ? ` (newest: ${known.join(', ')})` : ''}; drafts are never sent.`,
    );
  }
  // The build compiles the newest articles' emails; an older one named by slug is compiled here.
  const email =
    build.emails.find((built) => built.article.id === article.id)?.email ??
    (await compileEmail(build.site, article, await readEmailTemplates(path.join(options.root, 'templates'))));
  return { build, article, email };
}
