// All content sources → the checked model: the site and its published articles, or every problem at once.

import { KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import { checkUnique, parseArticle, sortArticles } from './article.ts';
import type { ContentSources } from './read-content.ts';
import { parseSite } from './settings.ts';

export interface Content {
  readonly site: Site;
  /** Published articles, newest first. */
  readonly articles: readonly Article[];
  readonly drafts: readonly Article[];
}

export function parseContent(sources: ContentSources): Content {
  const site = parseSite(sources.settings.text, sources.settings.path);
  const problems: KurierError[] = [];
  const parsed: Article[] = [];
  for (const source of sources.articles) {
    try {
      parsed.push(parseArticle(source.text, source.path, site));
    } catch (error) {
      if (!(error instanceof KurierError)) throw error;
      problems.push(error);
    }
  }
  problems.push(...checkUnique(parsed));
  const [first, ...rest] = problems;
  if (first !== undefined) {
    throw new KurierError(first.code, first.message, { file: first.file, line: first.line, problems: rest });
  }
  const sorted = sortArticles(parsed);
  return {
    site,
    articles: sorted.filter((article) => !article.draft),
    drafts: sorted.filter((a) => a.draft),
  };
}
