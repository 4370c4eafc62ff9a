// The newsletter email in real headless Chromium: no horizontal scrolling from 320 to 1024 px, axe-core, dark mode.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArticle } from '../src/content/article.ts';
import { parseSite } from '../src/content/settings.ts';
import { compileEmail } from '../src/email/compile.ts';
import { readEmailTemplates } from '../src/email/read-templates.ts';
import { prepareEmail, renderEmail } from '../src/email/render.ts';
import { renderWebVersion } from '../src/email/web.ts';
import {
  type Browser,
  describeViolations,
  launchChromium,
  measureLayout,
  openHtml,
  runAxe,
  VIEWPORT_WIDTHS,
} from './support/chromium.ts';
import { makeArticle, makeSite } from './support/fixtures.ts';
import { lacks } from './support/requirements.ts';

const root = path.resolve(import.meta.dirname, '..');
const SAMPLE = 'content/posts/bochum-leben-nach-der-industrie.md';
const templates = await readEmailTemplates(path.join(root, 'templates'));
const site = parseSite(await readFile(path.join(root, 'content/site.yaml'), 'utf8'));
const sample = parseArticle(await readFile(path.join(root, SAMPLE), 'utf8'), SAMPLE, site);

// A 1200 × 600 picture, wider than any phone, served to the page by the test (the email allows no data: URLs).
const wideImage = 'https://kurier.example/bilder/weit.svg';
const resources = {
  [wideImage]: {
    contentType: 'image/svg+xml',
    body: '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="600"><rect width="1200" height="600" fill="#8a6d3b"/></svg>',
  },
};
const longUrl = `https://kurier.example/${'sehr-lange-adresse-'.repeat(8)}ende`;
const stress = makeArticle({
  image: { url: wideImage, alt: 'Förderturm', width: 1200, height: 600, type: 'image/svg+xml' },
  html: [
    `<p>Ein Link ohne Leerzeichen: <a href="${longUrl}">${longUrl}</a></p>`,
    `<p><img src="${wideImage}" alt="Werkshalle" width="1200" height="600"></p>`,
    `<pre><code>${'const zeile = "eine sehr lange Zeile Code ohne Umbruch";'.repeat(4)}</code></pre>`,
    '<table><thead><tr><th>Jahr</th><th>Ereignis</th><th>Arbeitsplätze</th><th>Unternehmen</th><th>Quelle</th></tr></thead>',
    '<tbody><tr><td>2014</td><td>Opel schließt das Werk</td><td>3300</td><td>Opel</td><td>Stadt Bochum</td></tr></tbody></table>',
    '<blockquote><p>Glück auf!</p></blockquote><ul><li>Gesundheitswirtschaft</li><li>IT-Sicherheit</li></ul>',
  ].join('\n'),
});

const emails = {
  sample: renderEmail(prepareEmail(await compileEmail(site, sample, templates)), {
    email: 'anna@example.org',
    name: 'Anna Müller',
    unsubscribeUrl: 'https://kurier.example/abmelden?token=t0k3n',
    fields: {},
  }).html,
  'web version': renderWebVersion(await compileEmail(site, sample, templates)).html,
  'stress article': renderWebVersion(await compileEmail(makeSite(), stress, templates)).html,
};

// Page-level landmark rules do not fit an email: a mail client shows it inside its own page, which has the
// main landmark. The email itself is the role="article" with aria-roledescription="email" that MJML 5 writes,
// as the Email Markup Consortium recommends; a <main> inside webmail would nest landmarks.
const EMAIL_SKIPS = ['landmark-one-main', 'region'];

const noChromium = lacks('chromium');
let browser: Browser;
beforeAll(async () => {
  if (!noChromium) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe.skipIf(noChromium).each(Object.entries(emails))('%s in headless Chromium', (name, html) => {
  it.each(VIEWPORT_WIDTHS)('fits %i px without horizontal scrolling, images inside', async (width) => {
    const page = await openHtml(browser, html, { width, resources });
    const layout = await measureLayout(page);
    await page.close();
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
    expect(layout.overflowingImages).toEqual([]);
    // The lead image and the wide image in the body.
    if (name === 'stress article') expect(layout.imageCount).toBe(2);
  });

  it.each(VIEWPORT_WIDTHS)('has no axe-core violations at %i px, light and dark', async (width) => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const page = await openHtml(browser, html, { width, colorScheme, resources });
      const violations = describeViolations(await runAxe(page, EMAIL_SKIPS));
      await page.close();
      expect(violations, colorScheme).toEqual([]);
    }
  });
});

describe.skipIf(noChromium)('dark mode', () => {
  it('switches the page and card to dark backgrounds with light text', async () => {
    const read = async (colorScheme: 'light' | 'dark') => {
      const page = await openHtml(browser, emails.sample, { width: 600, colorScheme });
      const colors = await page.evaluate(() => {
        const { document, getComputedStyle } = globalThis as unknown as {
          document: { querySelector(selector: string): unknown };
          getComputedStyle(element: unknown): { color: string; backgroundColor: string };
        };
        const card = getComputedStyle(document.querySelector('.k-card'));
        const title = getComputedStyle(document.querySelector('.k-title'));
        const body = getComputedStyle(document.querySelector('.k-body p'));
        return { card: card.backgroundColor, title: title.color, body: body.color };
      });
      await page.close();
      return colors;
    };
    expect(await read('light')).toEqual({
      card: 'rgb(255, 255, 255)',
      title: 'rgb(31, 31, 31)',
      body: 'rgb(31, 31, 31)',
    });
    expect(await read('dark')).toEqual({
      card: 'rgb(30, 30, 30)',
      title: 'rgb(232, 230, 227)',
      body: 'rgb(232, 230, 227)',
    });
  });
});
