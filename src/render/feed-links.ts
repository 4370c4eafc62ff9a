// Where the three feeds are served, for the feeds themselves (self links) and for page autodiscovery.

import type { Site } from '../model.ts';

export interface FeedLink {
  /** Below out/. */
  readonly path: string;
  readonly type: string;
  readonly label: string;
  readonly url: string;
  readonly title: string;
}

export function planFeedLinks(site: Site): { atom: FeedLink; rss: FeedLink; json: FeedLink } {
  const link = (path: string, type: string, label: string): FeedLink => ({
    path,
    type,
    label,
    url: new URL(path, site.baseUrl).href,
    title: `${site.title} (${label})`,
  });
  return {
    atom: link('feed.xml', 'application/atom+xml', 'Atom'),
    rss: link('rss.xml', 'application/rss+xml', 'RSS'),
    json: link('feed.json', 'application/feed+json', 'JSON Feed'),
  };
}
