// The pages of kurier server in real Chromium: axe finds nothing, in light and dark, on a phone and a desktop.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PageKind, preparePages, readPageTemplate } from '../src/server/pages.ts';
import {
  type Browser,
  describeViolations,
  launchChromium,
  measureLayout,
  openHtml,
  runAxe,
} from './support/chromium.ts';
import { repoRoot } from './support/project.ts';
import { lacks } from './support/requirements.ts';

const templates = path.join(repoRoot, 'templates');
// The site's stylesheet inlined: the page links it from the site, which the offline browser cannot reach.
const css = await readFile(path.join(templates, 'style.css'), 'utf8');
const template = await readPageTemplate(templates);
// Every kind, checked by the compiler: a page added to PageKind and left out here fails to type-check.
const EVERY_KIND = {
  'check-inbox': true,
  'invalid-address': true,
  confirm: true,
  confirmed: true,
  'already-confirmed': true,
  unsubscribe: true,
  unsubscribed: true,
  'invalid-link': true,
  'expired-link': true,
  'too-many': true,
} satisfies Record<PageKind, true>;
const KINDS = Object.keys(EVERY_KIND) as PageKind[];

describe.skipIf(lacks('chromium'))('kurier server pages in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  for (const language of ['de', 'en']) {
    const render = preparePages(template, {
      title: 'Kurier',
      url: 'https://kurier.example/',
      language,
    });
    it.each(KINDS)(`%s (${language}) passes axe and fits a phone`, async (kind) => {
      const html = render(kind, 'EUiPswAAAAFrDuhmvl0LF8QJ_g5_RuBiGlttJA').replace(
        '<link rel="stylesheet" href="https://kurier.example/style.css">',
        `<style>${css}</style>`,
      );
      for (const colorScheme of ['light', 'dark'] as const) {
        for (const width of [320, 1024]) {
          const page = await openHtml(browser, html, { width, colorScheme });
          expect(describeViolations(await runAxe(page))).toEqual([]);
          const layout = await measureLayout(page);
          expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
          await page.close();
        }
      }
    });
  }
});
