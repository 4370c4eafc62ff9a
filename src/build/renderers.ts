// The renderers of a build (Handlebars, feed: ~60 ms to load), imported only when an output must be made
// again.

export { renderWebVersion } from '../email/web.ts';
export { renderFeeds } from '../render/feeds.ts';
export { renderPages } from '../render/pages.ts';
