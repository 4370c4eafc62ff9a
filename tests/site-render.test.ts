// The built pages in real headless Chromium, served over HTTP on 127.0.0.1: layout at every width and axe-core.

import { appendFile, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Browser,
  describeViolations,
  launchChromium,
  measureLayout,
  runAxe,
  VIEWPORT_WIDTHS,
} from './support/chromium.ts';
import { makeProject, runCli } from './support/project.ts';
import { lacks } from './support/requirements.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Serves out/ on 127.0.0.1 as a static host would: "slug/" answers with slug/index.html. */
function serve(outDir: string): Promise<Server> {
  const server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    const file = path.join(outDir, pathname.endsWith('/') ? `${pathname}index.html` : pathname);
    readFile(file).then(
      (body) => {
        response.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
        response.end(body);
      },
      () => {
        response.writeHead(404);
        response.end();
      },
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe.skipIf(lacks('chromium'))('the web pages in real Chromium', () => {
  let root: string;
  let server: Server;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    root = await makeProject();
    // With the sign-up form, so that it is checked too, at every width and in both schemes.
    await appendFile(
      path.join(root, 'content', 'site.yaml'),
      'subscriptions:\n  url: https://kurier.example/newsletter/\n  privacyUrl: https://kurier.example/datenschutz/\n' +
        '  consent: Ich möchte den Newsletter per E-Mail erhalten und kann mich jederzeit abmelden.\n',
    );
    expect((await runCli(root, ['build'])).code).toBe(0);
    server = await serve(path.join(root, 'out'));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await rm(root, { recursive: true, force: true });
  });

  for (const page of ['', 'bochum-leben-nach-der-industrie/']) {
    for (const colorScheme of ['light', 'dark'] as const) {
      it(`/${page} fits every width and has no accessibility violations (${colorScheme})`, async () => {
        for (const width of VIEWPORT_WIDTHS) {
          const tab = await browser.newPage({ viewport: { width, height: 900 }, colorScheme });
          await tab.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
          const response = await tab.goto(`${base}${page}`);
          expect(response?.status()).toBe(200);
          const styled = await tab.evaluate(
            () =>
              (globalThis as unknown as { document: { styleSheets: { length: number } } }).document
                .styleSheets.length,
          );
          expect(styled).toBe(1);
          const layout = await measureLayout(tab);
          expect(layout.scrollWidth, `width ${width}`).toBeLessThanOrEqual(layout.innerWidth);
          expect(layout.overflowingImages).toEqual([]);
          expect(describeViolations(await runAxe(tab)), `width ${width}`).toEqual([]);
          await tab.close();
        }
      });
    }
  }
});
