// `npm run shots`: screenshots of the sample email (web version) in headless Chromium, light and dark, into shots/.

import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArticle } from '../src/content/article.ts';
import { parseSite } from '../src/content/settings.ts';
import { compileEmail } from '../src/email/compile.ts';
import { readEmailTemplates } from '../src/email/read-templates.ts';
import { renderWebVersion } from '../src/email/web.ts';
import { launchChromium, openHtml, VIEWPORT_WIDTHS } from '../tests/support/chromium.ts';

const root = path.resolve(import.meta.dirname, '..');
const articleFile = 'content/posts/bochum-leben-nach-der-industrie.md';

const site = parseSite(await readFile(path.join(root, 'content/site.yaml'), 'utf8'));
const article = parseArticle(await readFile(path.join(root, articleFile), 'utf8'), articleFile, site);
const compiled = await compileEmail(site, article, await readEmailTemplates(path.join(root, 'templates')));
const { html } = renderWebVersion(compiled);

const outDir = path.join(root, 'shots');
await mkdir(outDir, { recursive: true });
const browser = await launchChromium();
try {
  for (const colorScheme of ['light', 'dark'] as const) {
    for (const width of VIEWPORT_WIDTHS) {
      const page = await openHtml(browser, html, { width, colorScheme });
      const file = path.join(outDir, `email-${width}-${colorScheme}.png`);
      await page.screenshot({ path: file, fullPage: true });
      await page.close();
      console.log(path.relative(root, file));
    }
  }
} finally {
  await browser.close();
}
