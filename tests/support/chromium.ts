// Real headless Chromium (Debian's /usr/bin/chromium) for rendering checks and screenshots, with axe-core.
// The one importer of playwright-core and axe-core. Offline: every request leaves the page unanswered.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AxeResults, Result } from 'axe-core';
import { type Browser, chromium, type Page } from 'playwright-core';

export type { Browser, Page };

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The widths the email is checked at: small phones up to desktop webmail. */
export const VIEWPORT_WIDTHS = [320, 375, 600, 800, 1024] as const;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-quic',
      '--disable-sync',
    ],
  });
}

export interface OpenOptions {
  readonly width: number;
  readonly height?: number;
  readonly colorScheme?: 'light' | 'dark';
  /** Responses served for these URLs (images the page loads); every other remote request is aborted. */
  readonly resources?: Readonly<Record<string, { readonly contentType: string; readonly body: string }>>;
}

/** A page showing `html`; remote requests are aborted (this machine has no internet, and tests must not wait). */
export async function openHtml(browser: Browser, html: string, options: OpenOptions): Promise<Page> {
  const page = await browser.newPage({
    viewport: { width: options.width, height: options.height ?? 800 },
    colorScheme: options.colorScheme ?? 'light',
  });
  await page.route(/^(https?|wss?):/, (route) => {
    const resource = options.resources?.[route.request().url()];
    return resource === undefined ? route.abort() : route.fulfill(resource);
  });
  await page.setContent(html, { waitUntil: 'load' });
  return page;
}

export interface Layout {
  readonly scrollWidth: number;
  readonly innerWidth: number;
  /** Images whose box reaches past the viewport's right edge (or has no layout width to compare). */
  readonly overflowingImages: readonly string[];
  readonly imageCount: number;
}

// The browser globals measureLayout reads; the project compiles without the DOM lib.
interface PageGlobals {
  readonly innerWidth: number;
  readonly document: {
    readonly documentElement: { readonly scrollWidth: number };
    readonly images: ArrayLike<{
      readonly src: string;
      getBoundingClientRect(): { left: number; right: number };
    }>;
  };
}

export function measureLayout(page: Page): Promise<Layout> {
  return page.evaluate(() => {
    const { document, innerWidth } = globalThis as unknown as PageGlobals;
    const images = Array.from(document.images);
    const overflowingImages = images
      .filter((image) => {
        const box = image.getBoundingClientRect();
        return box.right > innerWidth + 0.5 || box.left < -0.5;
      })
      .map((image) => image.src.slice(0, 80));
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth,
      overflowingImages,
      imageCount: images.length,
    };
  });
}

let axeSource: Promise<string> | undefined;

/**
 * Runs axe-core (all rules: WCAG A/AA and best practice) in the page; returns its violations. `skipRules`
 * names rules that do not apply to what is shown, with the reason at the call site.
 */
export async function runAxe(page: Page, skipRules: readonly string[] = []): Promise<Result[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: await axeSource });
  const rules = Object.fromEntries(skipRules.map((rule) => [rule, { enabled: false }]));
  const results = await page.evaluate(
    (options) =>
      (globalThis as unknown as { axe: { run: (options: object) => Promise<AxeResults> } }).axe.run(options),
    { rules },
  );
  return results.violations;
}

/** One line per violation and node, for readable test failures. */
export function describeViolations(violations: readonly Result[]): string[] {
  return violations.flatMap((violation) =>
    violation.nodes.map(
      (node) => `${violation.id}: ${node.failureSummary ?? violation.help} at ${node.target.join(' ')}`,
    ),
  );
}
