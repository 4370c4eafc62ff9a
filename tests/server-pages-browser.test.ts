// The pages of kurier server in real Chromium: axe finds nothing, in light and dark, on a phone and a desktop.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PageKind, preparePages, readPageTemplate } from '../src/server/pages.ts';
import {
  type Browser,
  CHROMIUM_PATH,
  describeViolations,
  launchChromium,
  measureLayout,
  openHtml,
  runAxe,
} from './support/chromium.ts';
import { repoRoot } from './support/project.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) console.log(`server page checks in Chromium skipped: ${CHROMIUM_PATH} is missing.`);

const templates = path.join(repoRoot, 'templates');
// The site's stylesheet inlined: the page links it from the site, which the offline browser cannot reach.
const css = await readFile(path.join(templates, 'style.css'), 'utf8');
const template = await readPageTemplate(templates);
const KINDS: readonly PageKind[] = [
  'check-inbox',
  'invalid-address',
  'confirm',
  'confirmed',
  'unsubscribe',
  'unsubscribed',
  'invalid-link',
  'expired-link',
  'too-many',
];

describe.skipIf(!hasChromium)('kurier server pages in Chromium', () => {
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
