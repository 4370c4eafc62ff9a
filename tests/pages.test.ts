// renderPages as a pure function: the index and article pages from the model, and errors in page templates.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPageTemplates } from '../src/build/read-templates.ts';
import { formatError, KurierError } from '../src/error.ts';
import type { OutputFile } from '../src/model.ts';
import { type PageTemplates, renderPages } from '../src/render/pages.ts';
import { planOpenGraphLocale } from '../src/render/strings.ts';
import { makeArticle, makeSite } from './support/fixtures.ts';

const templates = await readPageTemplates(path.resolve(import.meta.dirname, '..', 'templates'));

function pagesOf(...args: Parameters<typeof renderPages>): Map<string, string> {
  return new Map([...renderPages(...args)].map((file: OutputFile) => [file.path, String(file.content)]));
}

describe('renderPages', () => {
  const site = makeSite();
  const newer = makeArticle({
    slug: 'neu',
    title: 'Neu & „frisch“',
    published: new Date('2026-11-27T07:00:00Z'),
  });
  const older = makeArticle({ image: undefined });
  const pages = pagesOf(site, [newer, older], templates);

  it('writes the index, a page per article at the URL its feed entry links to, and the stylesheet', () => {
    expect([...pages.keys()].sort()).toEqual([
      'gruesse-aus-bochum/index.html',
      'index.html',
      'neu/index.html',
      'style.css',
    ]);
  });

  it('announces all three feeds for autodiscovery on every page', () => {
    for (const name of ['index.html', 'neu/index.html']) {
      const html = pages.get(name) ?? '';
      expect(html).toContain(
        '<link rel="alternate" type="application/atom+xml" title="Kurier (Atom)" href="https://kurier.example/feed.xml">',
      );
      expect(html).toContain(
        '<link rel="alternate" type="application/rss+xml" title="Kurier (RSS)" href="https://kurier.example/rss.xml">',
      );
      expect(html).toContain(
        '<link rel="alternate" type="application/feed+json" title="Kurier (JSON Feed)" href="https://kurier.example/feed.json">',
      );
    }
  });

  it('lists articles newest first with relative links', () => {
    const index = pages.get('index.html') ?? '';
    expect(index.indexOf('href="neu/"')).toBeGreaterThan(-1);
    expect(index.indexOf('href="neu/"')).toBeLessThan(index.indexOf('href="gruesse-aus-bochum/"'));
  });

  it('shows title, byline, German date, lead and body, escaped where needed', () => {
    const html = pages.get('neu/index.html') ?? '';
    expect(html).toContain('<html lang="de">');
    expect(html).toContain('<h1>Neu &amp; „frisch“</h1>');
    expect(html).toContain(
      'Von Rolevinck · <time datetime="2026-11-27T07:00:00.000Z">27. November 2026</time>',
    );
    expect(html).toContain('<p class="lead">Wo einst Fördertürme standen');
    expect(html).toContain('<h2 id="der-abschied">Der Abschied</h2>');
    expect(html).toContain('<link rel="canonical" href="https://kurier.example/neu/">');
    expect(html).toContain('href="../style.css"');
  });

  it('keeps a </script> in a title from ending the JSON-LD block', () => {
    const hostile = makeArticle({ title: 'a</script><script>alert(1)</script>' });
    const html = pagesOf(site, [hostile], templates).get('gruesse-aus-bochum/index.html') ?? '';
    const jsonLd = /<script type="application\/ld\+json">(.*?)<\/script>/s.exec(html)?.[1] ?? '';
    expect(JSON.parse(jsonLd).headline).toBe('a</script><script>alert(1)</script>');
  });

  it('links the icon from the settings, and none without one', () => {
    const withIcon = makeSite({ icon: 'https://kurier.example/icon.png' });
    expect(pagesOf(withIcon, [older], templates).get('index.html')).toContain(
      '<link rel="icon" href="https://kurier.example/icon.png">',
    );
    expect(pages.get('index.html')).not.toContain('rel="icon"');
  });

  it('says so when there is nothing published yet', () => {
    expect(pagesOf(site, [], templates).get('index.html')).toContain('Noch keine Artikel.');
  });

  it('writes og:locale as language_TERRITORY, as Open Graph wants it', () => {
    expect(pages.get('index.html')).toContain('<meta property="og:locale" content="de_DE">');
    expect(pages.get('neu/index.html')).toContain('<meta property="og:locale" content="de_DE">');
    for (const [language, locale] of [
      ['en', 'en_US'],
      ['de-AT', 'de_AT'],
      ['en-GB', 'en_GB'],
      ['pt', 'pt_BR'],
    ]) {
      expect(planOpenGraphLocale(language ?? ''), language).toBe(locale);
    }
  });
});

describe('the sign-up form', () => {
  const article = makeArticle();
  const subscriptions = {
    url: 'https://kurier.example/newsletter/',
    privacyUrl: 'https://kurier.example/datenschutz/',
    consent: 'Ich möchte den Newsletter erhalten & kann mich jederzeit abmelden.',
  };

  it('is on no page without subscriptions.url', () => {
    for (const html of pagesOf(makeSite(), [article], templates).values())
      expect(html).not.toContain('<form');
  });

  it('posts to the service from the index and every article page, with the consent wording and the privacy link', () => {
    const pages = pagesOf(makeSite({ subscriptions }), [article], templates);
    for (const [name, page] of [
      ['index.html', 'https://kurier.example/'],
      ['gruesse-aus-bochum/index.html', article.url],
    ] as const) {
      const html = pages.get(name) ?? '';
      expect(html).toContain('<form method="post" action="https://kurier.example/newsletter/subscribe">');
      expect(html).toMatch(/<input id="signup-email" name="email" type="email" required/);
      expect(html).toContain(`<input type="hidden" name="page" value="${page}">`);
      expect(html).toContain(
        `<input type="hidden" name="form" value="${name === 'index.html' ? 'index' : 'article'}">`,
      );
      expect(html).toContain(
        '<input type="hidden" name="consent" value="Ich möchte den Newsletter erhalten &amp; kann mich jederzeit abmelden.">',
      );
      expect(html).toContain('<a href="https://kurier.example/datenschutz/">Datenschutzerklärung</a>');
      // The honeypot: a field people never see (display: none in the stylesheet) and bots fill in.
      expect(html).toContain('<p class="signup-trap">');
    }
    expect(pages.get('style.css')).toContain('.signup-trap { display: none; }');
  });
});

describe('errors in page templates', () => {
  const site = makeSite();
  const errorOf = (broken: PageTemplates): KurierError => {
    try {
      pagesOf(site, [makeArticle()], broken);
    } catch (error) {
      if (error instanceof KurierError) return error;
      throw error;
    }
    throw new Error('expected a KurierError');
  };

  it('name the template file and the line, for syntax and for misspelt fields', () => {
    const syntax = errorOf({
      ...templates,
      article: templates.article.replace('<h1>{{article.title}}</h1>', '<h1>{{article.title}</h1>'),
    });
    expect(formatError(syntax)).toMatch(
      /^templates\/article\.hbs:30 {2}TEMPLATE_INVALID {2}The template does not parse/,
    );
    const field = errorOf({ ...templates, index: templates.index.replace('{{title}}</a>', '{{titel}}</a>') });
    expect([field.file, field.line]).toEqual(['templates/index.hbs', 22]);
    expect(field.message).toBe(
      '{{titel}} names a field that does not exist ("titel" is not defined): check its spelling.',
    );
  });

  it("name the partial's own file and line", () => {
    const partials = { ...templates.partials, 'site-footer': `<footer>\n{{site.titel}}\n</footer>` };
    const error = errorOf({ ...templates, partials });
    expect([error.code, error.file, error.line]).toEqual([
      'TEMPLATE_INVALID',
      'templates/partials/site-footer.hbs',
      2,
    ]);
  });
});
