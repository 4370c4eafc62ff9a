// The parsing side of a build (YAML, zod, Markdown: ~60 ms to load), imported only when something must be
// parsed: changed settings or articles, or the HTML of a cached article that a renderer asks for.

export { parseArticle } from '../content/article.ts';
export { planContent } from '../content/content.ts';
export { parseSite } from '../content/settings.ts';
export { type ParseWorker, parseArticles, startParseWorkers } from './parse-parallel.ts';
