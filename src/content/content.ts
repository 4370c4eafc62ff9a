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

/** Parsed files (an Article or the error of its file) → the content, or one error that lists every problem. */
export function planContent(site: Site, parsed: readonly (Article | KurierError)[]): Content {
  const articles = parsed.filter((item): item is Article => !(item instanceof KurierError));
  const problems = [...parsed.filter((item) => item instanceof KurierError), ...checkUnique(articles)];
  const [first, ...rest] = problems;
  if (first !== undefined) {
    throw new KurierError(first.code, first.message, { file: first.file, line: first.line, problems: rest });
  }
  const sorted = sortArticles(articles);
  return {
    site,
    articles: sorted.filter((article) => !article.draft),
    drafts: sorted.filter((a) => a.draft),
  };
}

function parseOrError(text: string, file: string, site: Site): Article | KurierError {
  try {
    return parseArticle(text, file, site);
  } catch (error) {
    if (error instanceof KurierError) return error;
    throw error;
  }
}

export function parseContent(sources: ContentSources): Content {
  const site = parseSite(sources.settings.text, sources.settings.path);
  return planContent(
    site,
    sources.articles.map((source) => parseOrError(source.text, source.path, site)),
  );
}
