// The build benchmark's peers: the generated corpus converted for Hugo and Eleventy 3, so that each tool
// makes the same site: a page per article at /<slug>/, an index of every article, and Atom (feed.xml),
// RSS (rss.xml) and JSON Feed (feed.json) of the newest 20 articles with their full content.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const PEERS_DIR = path.resolve(import.meta.dirname, 'peers');
const ELEVENTY = path.join(PEERS_DIR, 'node_modules', '@11ty', 'eleventy', 'cmd.cjs');
const HUGO = '/usr/bin/hugo';

export interface Peer {
  readonly name: string;
  /** The folder of the converted project, the article files below it and the output folder. */
  readonly root: string;
  readonly posts: string;
  readonly out: string;
  /** Program and arguments of one build, run with `root` as working folder. */
  readonly command: readonly string[];
  /** Removed for a first build: the output and whatever the tool keeps between builds. */
  readonly state: readonly string[];
}

/** Installs Eleventy from bench/peers/package-lock.json when missing; finds Hugo. Says what is unavailable. */
export function findPeers(note: (line: string) => void): { hugo: boolean; eleventy: boolean } {
  const hugo = existsSync(HUGO);
  if (!hugo) note(`  notice: ${HUGO} not found (apt install hugo); Hugo left out`);
  if (!existsSync(ELEVENTY)) {
    note('  notice: installing Eleventy 3 into bench/peers/node_modules (npm ci --prefix bench/peers)');
    const install = spawnSync('npm', ['ci', '--prefix', PEERS_DIR, '--no-audit', '--no-fund'], {
      encoding: 'utf8',
    });
    if (install.status !== 0) note(`  notice: npm ci failed, Eleventy left out:\n${install.stderr}`);
  }
  return { hugo, eleventy: existsSync(ELEVENTY) };
}

async function copyPosts(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const names = await readdir(from);
  for (let start = 0; start < names.length; start += 256) {
    await Promise.all(
      names.slice(start, start + 256).map((name) => copyFile(path.join(from, name), path.join(to, name))),
    );
  }
}

async function writeFiles(root: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
}

// The article files are used as they are: both tools read YAML front matter, and the fields (title, slug,
// date, summary, author, tags) are the generator's. Tag pages, section lists, sitemaps and robots.txt are
// switched off, since Kurier makes none.
const HUGO_FILES: Readonly<Record<string, string>> = {
  'config.toml': `baseURL = "https://kurier.example/"
languageCode = "de"
title = "Kurier"
timeZone = "Europe/Berlin"
disableKinds = ["taxonomy", "term", "section", "sitemap", "robotsTXT", "404"]
[permalinks]
  posts = "/:slug/"
[markup.goldmark.renderer]
  unsafe = true
[mediaTypes."application/atom+xml"]
  suffixes = ["xml"]
[mediaTypes."application/feed+json"]
  suffixes = ["json"]
[outputFormats.Atom]
  mediaType = "application/atom+xml"
  baseName = "feed"
  isPlainText = true
[outputFormats.RSS]
  baseName = "rss"
  isPlainText = true
[outputFormats.JSONFeed]
  mediaType = "application/feed+json"
  baseName = "feed"
  isPlainText = true
[outputs]
  home = ["HTML", "Atom", "RSS", "JSONFeed"]
  page = ["HTML"]
`,
  'layouts/_default/single.html': `<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} – {{ .Site.Title }}</title>
<meta name="description" content="{{ .Params.summary }}">
<link rel="canonical" href="{{ .Permalink }}">
<link rel="alternate" type="application/atom+xml" href="/feed.xml">
</head>
<body>
<main>
  <article>
    <h1>{{ .Title }}</h1>
    <p class="byline">Von {{ .Params.author }} · <time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2. January 2006" }}</time></p>
    <p class="lead">{{ .Params.summary }}</p>
    {{ .Content }}
    <ul class="tags">{{ range .Params.tags }}<li>{{ . }}</li>{{ end }}</ul>
  </article>
</main>
</body>
</html>
`,
  'layouts/index.html': `<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<title>{{ .Site.Title }}</title>
<link rel="alternate" type="application/atom+xml" href="/feed.xml">
</head>
<body>
<main>
  <ol reversed>
  {{ range .Site.RegularPages.ByDate.Reverse }}
    <li><article><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>
    <p class="byline">{{ .Params.author }} · <time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2. January 2006" }}</time></p>
    <p>{{ .Params.summary }}</p></article></li>
  {{ end }}
  </ol>
</main>
</body>
</html>
`,
  'layouts/index.atom.xml': `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">
  <id>{{ .Site.BaseURL }}</id>
  <title>{{ .Site.Title | htmlEscape }}</title>
  <updated>{{ now.Format "2006-01-02T15:04:05Z07:00" }}</updated>
  <link rel="self" href="{{ .Site.BaseURL }}feed.xml"/>
  {{ range first 20 .Site.RegularPages.ByDate.Reverse }}
  <entry>
    <id>{{ .Params.id }}</id>
    <title>{{ .Title | htmlEscape }}</title>
    <link href="{{ .Permalink }}"/>
    <published>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</published>
    <updated>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</updated>
    <author><name>{{ .Params.author }}</name></author>
    <summary>{{ .Params.summary | htmlEscape }}</summary>
    <content type="html">{{ string .Content | htmlEscape }}</content>
  </entry>
  {{ end }}
</feed>
`,
  'layouts/index.rss.xml': `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>{{ .Site.Title | htmlEscape }}</title>
  <link>{{ .Site.BaseURL }}</link>
  <description>{{ .Site.Title | htmlEscape }}</description>
  <language>de</language>
  {{ range first 20 .Site.RegularPages.ByDate.Reverse }}
  <item>
    <guid isPermaLink="false">{{ .Params.id }}</guid>
    <title>{{ .Title | htmlEscape }}</title>
    <link>{{ .Permalink }}</link>
    <pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" }}</pubDate>
    <description>{{ string .Content | htmlEscape }}</description>
  </item>
  {{ end }}
</channel></rss>
`,
  'layouts/index.jsonfeed.json': `{{- $items := slice -}}
{{- range first 20 .Site.RegularPages.ByDate.Reverse -}}
{{- $items = $items | append (dict "id" .Params.id "url" .Permalink "title" .Title "summary" .Params.summary "content_html" (string .Content) "date_published" (.Date.Format "2006-01-02T15:04:05Z07:00")) -}}
{{- end -}}
{{- dict "version" "https://jsonfeed.org/version/1.1" "title" .Site.Title "home_page_url" .Site.BaseURL "feed_url" (print .Site.BaseURL "feed.json") "items" $items | jsonify -}}
`,
};

const ELEVENTY_FILES: Readonly<Record<string, string>> = {
  'eleventy.config.mjs': `export default function (config) {
  config.addCollection('posts', (api) => api.getFilteredByGlob('src/posts/*.md').sort((a, b) => b.date - a.date));
  config.addFilter('iso', (date) => date.toISOString());
  config.addFilter('rfc822', (date) => date.toUTCString());
  config.addFilter('json', (value) => JSON.stringify(value));
  config.addFilter('head', (items, count) => items.slice(0, count));
  return {
    dir: { input: 'src', output: 'out', includes: '_includes' },
    // Markdown as Markdown, as Kurier and Hugo read it (Eleventy's default runs Liquid over it first).
    markdownTemplateEngine: false,
  };
}
`,
  'src/posts/posts.11tydata.mjs': `export default {
  layout: 'article.njk',
  eleventyComputed: { permalink: (data) => \`/\${data.slug}/index.html\` },
};
`,
  'src/_includes/article.njk': `<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} – Kurier</title>
<meta name="description" content="{{ summary }}">
<link rel="canonical" href="https://kurier.example{{ page.url }}">
<link rel="alternate" type="application/atom+xml" href="/feed.xml">
</head>
<body>
<main>
  <article>
    <h1>{{ title }}</h1>
    <p class="byline">Von {{ author }} · <time datetime="{{ page.date | iso }}">{{ page.date | iso }}</time></p>
    <p class="lead">{{ summary }}</p>
    {{ content | safe }}
    <ul class="tags">{% for tag in tags %}<li>{{ tag }}</li>{% endfor %}</ul>
  </article>
</main>
</body>
</html>
`,
  'src/index.njk': `---
permalink: index.html
eleventyExcludeFromCollections: true
---
<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<title>Kurier</title>
<link rel="alternate" type="application/atom+xml" href="/feed.xml">
</head>
<body>
<main>
  <ol reversed>
  {%- for post in collections.posts %}
    <li><article><h2><a href="{{ post.url }}">{{ post.data.title }}</a></h2>
    <p class="byline">{{ post.data.author }} · <time datetime="{{ post.date | iso }}">{{ post.date | iso }}</time></p>
    <p>{{ post.data.summary }}</p></article></li>
  {%- endfor %}
  </ol>
</main>
</body>
</html>
`,
  'src/feed.xml.njk': `---
permalink: feed.xml
eleventyExcludeFromCollections: true
---
<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">
  <id>https://kurier.example/</id>
  <title>Kurier</title>
  <updated>{{ collections.posts[0].date | iso }}</updated>
  <link rel="self" href="https://kurier.example/feed.xml"/>
  {%- for post in collections.posts | head(20) %}
  <entry>
    <id>{{ post.data.id }}</id>
    <title>{{ post.data.title }}</title>
    <link href="https://kurier.example{{ post.url }}"/>
    <published>{{ post.date | iso }}</published>
    <updated>{{ post.date | iso }}</updated>
    <author><name>{{ post.data.author }}</name></author>
    <summary>{{ post.data.summary }}</summary>
    <content type="html">{{ post.content }}</content>
  </entry>
  {%- endfor %}
</feed>
`,
  'src/rss.xml.njk': `---
permalink: rss.xml
eleventyExcludeFromCollections: true
---
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>Kurier</title>
  <link>https://kurier.example/</link>
  <description>Kurier</description>
  <language>de</language>
  {%- for post in collections.posts | head(20) %}
  <item>
    <guid isPermaLink="false">{{ post.data.id }}</guid>
    <title>{{ post.data.title }}</title>
    <link>https://kurier.example{{ post.url }}</link>
    <pubDate>{{ post.date | rfc822 }}</pubDate>
    <description>{{ post.content }}</description>
  </item>
  {%- endfor %}
</channel></rss>
`,
  'src/feed.json.njk': `---
permalink: feed.json
eleventyExcludeFromCollections: true
---
{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "Kurier",
  "home_page_url": "https://kurier.example/",
  "feed_url": "https://kurier.example/feed.json",
  "items": [
  {%- for post in collections.posts | head(20) %}
    {"id": {{ post.data.id | json | safe }}, "url": "https://kurier.example{{ post.url }}", "title": {{ post.data.title | json | safe }}, "summary": {{ post.data.summary | json | safe }}, "content_html": {{ post.content | json | safe }}, "date_published": "{{ post.date | iso }}"}{% if not loop.last %},{% endif %}
  {%- endfor %}
  ]
}
`,
};

/** Converts the Kurier project at `kurierRoot` for Hugo and Eleventy, in folders beside it. */
export async function preparePeers(
  kurierRoot: string,
  available: { hugo: boolean; eleventy: boolean },
): Promise<Peer[]> {
  const posts = path.join(kurierRoot, 'content', 'posts');
  const peers: Peer[] = [];
  if (available.hugo) {
    const root = `${kurierRoot}-hugo`;
    await writeFiles(root, HUGO_FILES);
    await copyPosts(posts, path.join(root, 'content', 'posts'));
    peers.push({
      name: 'Hugo',
      root,
      posts: path.join(root, 'content', 'posts'),
      out: path.join(root, 'public'),
      command: [HUGO, '--quiet', '--source', root],
      state: [path.join(root, 'public'), path.join(root, 'resources'), path.join(root, '.hugo_build.lock')],
    });
  }
  if (available.eleventy) {
    const root = `${kurierRoot}-eleventy`;
    await writeFiles(root, ELEVENTY_FILES);
    await copyPosts(posts, path.join(root, 'src', 'posts'));
    peers.push({
      name: 'Eleventy',
      root,
      posts: path.join(root, 'src', 'posts'),
      out: path.join(root, 'out'),
      command: [process.execPath, ELEVENTY, '--quiet', '--config=eleventy.config.mjs'],
      state: [path.join(root, 'out'), path.join(root, '.cache')],
    });
  }
  return peers;
}
