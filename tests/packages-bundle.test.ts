// The package bundles of bin/packages.js, loaded as the threads load them (with their V8 code caches), give
// byte for byte what the packages give: MJML's emails, and a whole build's pages, feeds and emails; a
// stubbed-out package fails loudly; a damaged cache is rebuilt; lodash/fp and parse5 load when first read.

import { isAscii } from 'node:buffer';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePackage, LAZY, LAZY_LOADED, LEFT_OUT_CODE, lazyModules, PACKAGES } from '../bin/packages.js';
import { parseArticle } from '../src/content/article.ts';
import { parseSite } from '../src/content/settings.ts';
import { compileEmail, type Mjml, readBundledMjml, renderMjml } from '../src/email/compile.ts';
import { readEmailTemplates } from '../src/email/read-templates.ts';
import { KurierError } from '../src/error.ts';
import { makeArticle, makeSite } from './support/fixtures.ts';
import {
  buildThroughBin,
  expectSameFiles,
  readTree,
  repoRoot,
  runCli,
  useProjects,
} from './support/project.ts';

const { project } = useProjects();

const root = repoRoot;
const SAMPLE = 'content/posts/bochum-leben-nach-der-industrie.md';
const templates = await readEmailTemplates(path.join(root, 'templates'));
const sampleSite = parseSite(await readFile(path.join(root, 'content/site.yaml'), 'utf8'));
const sample = parseArticle(await readFile(path.join(root, SAMPLE), 'utf8'), SAMPLE, sampleSite);
const image = 'https://kurier.example/bilder/weit.png';
const stress = makeArticle({
  image: { url: image, alt: 'Förderturm', width: 1200, height: 600, type: 'image/png' },
  html: [
    '<h2>Zwischentitel</h2><p>Ein <a href="https://kurier.example/a?b=1&amp;c=2">Link</a> &amp; „Zitat“ — 😀</p>',
    `<p><img src="${image}" alt="Werkshalle" width="1200" height="600"></p>`,
    '<pre><code>const zeile = "&lt;b&gt;";</code></pre><blockquote><p>Glück auf!</p></blockquote>',
    '<table><thead><tr><th>Jahr</th><th>Ereignis</th></tr></thead><tbody><tr><td>2014</td><td>Opel</td></tr></tbody></table>',
    '<ol><li>eins</li><li>zwei<ul><li>drei</li></ul></li></ol><script>alert(1)</script>',
  ].join('\n'),
});

// Every component of mjml-preset-core, mj-attributes, mj-html-attributes (cheerio) and inlined mj-style (juice).
const KITCHEN_SINK = `<mjml lang="de" dir="ltr">
  <mj-head>
    <mj-title>Alles</mj-title>
    <mj-preview>Vorschau</mj-preview>
    <mj-breakpoint width="480px" />
    <mj-attributes>
      <mj-all font-family="Georgia, serif" />
      <mj-text color="#222" line-height="1.5" />
      <mj-class name="rot" color="#a00" />
    </mj-attributes>
    <mj-html-attributes>
      <mj-selector path=".kennung div"><mj-html-attribute name="data-id">42</mj-html-attribute></mj-selector>
    </mj-html-attributes>
    <mj-style inline="inline">.kennung div { color: #0a0; } p { margin: 0 0 1em; }</mj-style>
    <mj-style>@media (max-width: 480px) { .klein { font-size: 12px !important; } }</mj-style>
    <mj-raw><meta name="x-kurier" content="1" /></mj-raw>
  </mj-head>
  <mj-body width="600px" background-color="#f4f1ea">
    <mj-raw><!-- htmlmin:ignore --><div>roh</div></mj-raw>
    <mj-wrapper padding="8px" border="1px solid #ccc">
      <mj-section><mj-group>
        <mj-column width="50%"><mj-text css-class="kennung" mj-class="rot"><p>Links &amp; „rechts“</p></mj-text></mj-column>
        <mj-column width="50%"><mj-image src="${image}" alt="Bild" width="200px" height="100px" href="https://kurier.example/" /></mj-column>
      </mj-group></mj-section>
    </mj-wrapper>
    <mj-hero mode="fixed-height" height="200px" background-url="${image}" background-width="600px" background-height="200px">
      <mj-text>Held</mj-text><mj-button href="https://kurier.example/?a=1&amp;b=2">Weiter</mj-button>
    </mj-hero>
    <mj-section background-url="${image}" background-size="cover" css-class="klein">
      <mj-column border-radius="4px" inner-background-color="#fff" padding="4px">
        <mj-divider border-color="#999" border-width="2px" /><mj-spacer height="12px" />
        <mj-table><tr><th>Jahr</th><th>Zahl</th></tr><tr><td>2014</td><td>3300</td></tr></mj-table>
        <mj-social mode="horizontal">
          <mj-social-element name="facebook" href="https://kurier.example/f">Facebook</mj-social-element>
          <mj-social-element name="github" href="https://kurier.example/g" />
        </mj-social>
        <mj-navbar hamburger="hamburger">
          <mj-navbar-link href="/eins">Eins</mj-navbar-link><mj-navbar-link href="/zwei">Zwei</mj-navbar-link>
        </mj-navbar>
        <mj-accordion>
          <mj-accordion-element><mj-accordion-title>Frage</mj-accordion-title><mj-accordion-text>Antwort</mj-accordion-text></mj-accordion-element>
        </mj-accordion>
        <mj-carousel><mj-carousel-image src="${image}" /><mj-carousel-image src="${image}?2" /></mj-carousel>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;
const SINK_TEMPLATE = [{ file: 'templates/alles.mjml.hbs', source: KITCHEN_SINK }];

/** The kitchen sink's HTML, without the random ids that mj-navbar and mj-carousel draw (genRandomHexString). */
async function renderSink(mjml?: Promise<Mjml>): Promise<string> {
  return (await renderMjml(KITCHEN_SINK, SINK_TEMPLATE, mjml)).replace(/\b[0-9a-f]{16}\b/g, 'random');
}

let folder = '';
let bundleFile = '';
let cacheFile = '';

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'kurier-mjml-'));
  bundleFile = path.join(folder, 'mjml.cjs');
  cacheFile = `${bundleFile}.v8cache`;
  await writeFile(bundleFile, await bundlePackage(root, build, 'mjml'));
}, 60_000);

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** The outputs that must not depend on where MJML came from. */
async function outputs(mjml?: Mjml) {
  const loaded = mjml === undefined ? undefined : Promise.resolve(mjml);
  return {
    sample: await compileEmail(sampleSite, sample, templates, loaded),
    stress: await compileEmail(makeSite(), stress, templates, loaded),
    english: await compileEmail(makeSite({ language: 'en' }), makeArticle(), templates, loaded),
    sink: await renderSink(loaded),
  };
}

/** The modules of LAZY that a bundle loaded whole since the last call. */
function takeLazyLoaded(): unknown {
  const global = globalThis as Record<string, unknown>;
  const loaded = global[LAZY_LOADED] ?? [];
  delete global[LAZY_LOADED];
  return loaded;
}

describe('the MJML bundle', () => {
  it('compiles byte for byte what the mjml package compiles, with and without its code cache', async () => {
    takeLazyLoaded();
    const expected = await outputs();
    expect(expected.sink).toContain('data-id="42"');
    expect(expected.sink).toContain('<p style="margin: 0 0 1em;">');
    expect(expected.sink).toContain('mj-carousel-random-radio-2');

    const first = readBundledMjml(bundleFile);
    expect(first.codeCache).toBe('missing');
    expect(await outputs(first)).toEqual(expected);

    const second = readBundledMjml(bundleFile);
    expect(second.codeCache).toBe('used');
    expect(await outputs(second)).toEqual(expected);
    // The kitchen sink has every component, and mj-html-attributes and inlined mj-style run cheerio: none
    // needs more of lodash/fp or parse5.
    expect(takeLazyLoaded()).toEqual([]);
  });

  it('is ASCII, so that V8 keeps its source in one byte a character', async () => {
    expect(isAscii(await readFile(bundleFile))).toBe(true);
  });

  it('rebuilds a damaged, truncated or foreign code cache and still compiles the same', async () => {
    const expected = await renderSink();
    readBundledMjml(bundleFile).compiled();
    const good = await readFile(cacheFile);
    const flipped = Buffer.from(good);
    const middle = Math.floor(flipped.length / 2);
    flipped[middle] = (flipped[middle] ?? 0) ^ 0xff;
    const damages = {
      flipped,
      truncated: good.subarray(0, good.length - 1000),
      foreign: Buffer.from('not a code cache at all'),
      empty: Buffer.alloc(0),
    };
    for (const [damage, bytes] of Object.entries(damages)) {
      await writeFile(cacheFile, bytes);
      const mjml = readBundledMjml(bundleFile);
      expect(mjml.codeCache, damage).toBe('rejected');
      expect(await renderSink(Promise.resolve(mjml)), damage).toBe(expected);
      expect(readBundledMjml(bundleFile).codeCache, damage).toBe('used');
    }
  });

  it('fails loudly, not as a template error, when an option needs a package that it leaves out', async () => {
    const { mjml2html } = readBundledMjml(bundleFile);
    for (const options of [{ beautify: true }, { minify: true }]) {
      await expect(mjml2html(KITCHEN_SINK, options)).rejects.toMatchObject({ code: LEFT_OUT_CODE });
    }
    const leftOut = Object.assign(new Error('js-beautify was called'), { code: LEFT_OUT_CODE });
    const failing: Mjml = { mjml2html: () => Promise.reject(leftOut), compiled: () => undefined };
    const error = await renderMjml(KITCHEN_SINK, SINK_TEMPLATE, Promise.resolve(failing)).catch(
      (reason: unknown) => reason,
    );
    expect(error).toBe(leftOut);
    expect(error).not.toBeInstanceOf(KurierError);
  });
});

// lodash/fp's methods are curried: each call gives a value or the next function.
type Curried = (...args: unknown[]) => Curried;

/** lodash/fp's `name`, from `fp` (the bundle's or the package's). */
function method(fp: Record<string, unknown>, name: string): Curried {
  const found = fp[name];
  if (typeof found !== 'function') throw new Error(`lodash/fp has no method ${name}`);
  return found as Curried;
}

describe("the MJML bundle's lazy modules", () => {
  /** `name` through lazyModules, as a bundle of the stand-in, and as the package gives it. */
  async function bothWays(
    name: string,
  ): Promise<{ lazy: Record<string, unknown>; whole: Record<string, unknown> }> {
    const result = await build({
      stdin: { contents: `module.exports = require('${name}');`, resolveDir: root, sourcefile: 'entry.cjs' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      plugins: [lazyModules],
      write: false,
      logLevel: 'error',
      absWorkingDir: root,
    });
    const module = { exports: {} as Record<string, unknown> };
    const require = createRequire(path.join(root, 'package.json'));
    new Function('module', 'exports', 'require', result.outputFiles[0]?.text ?? '')(
      module,
      module.exports,
      require,
    );
    takeLazyLoaded();
    return { lazy: module.exports, whole: require(name) as Record<string, unknown> };
  }

  it("gives lodash/fp's listed methods one by one, and any other from the whole of it", async () => {
    const { lazy, whole } = await bothWays('lodash/fp');
    const pipeline = (fp: Record<string, unknown>) => {
      const steps = [
        method(fp, 'filter')(method(fp, 'identity')),
        method(fp, 'map')((value: number) => value * 2),
        method(fp, 'join')(' '),
      ];
      return method(fp, 'flow')(steps)([3, 0, null, 1, undefined, 2]);
    };
    expect(pipeline(lazy)).toBe('6 2 4');
    expect(pipeline(lazy)).toBe(pipeline(whole));
    for (const name of LAZY['lodash/fp']?.methods ?? []) expect(typeof lazy[name], name).toBe('function');
    expect(takeLazyLoaded()).toEqual([]);

    expect(method(lazy, 'chunk')(2)([1, 2, 3])).toEqual([[1, 2], [3]]);
    expect(takeLazyLoaded()).toEqual(['lodash/fp']);
    expect(Object.keys(lazy)).toEqual(Object.keys(whole));
    expect(typeof lazy).toBe(typeof whole);
    const wrap = (fp: unknown) => (fp as (value: unknown) => { value(): unknown })([1, 2]).value();
    expect(wrap(lazy)).toEqual(wrap(whole));
    expect('placeholder' in lazy && !('noSuchMethod' in lazy)).toBe(true);
  });

  it('loads parse5 when it is first read, and then reads like it', async () => {
    const { lazy, whole } = await bothWays('parse5');
    expect(takeLazyLoaded()).toEqual([]);
    const html = '<p>Glück &amp; <b>auf</b>';
    const serialize = (parse5: Record<string, unknown>) =>
      method(parse5, 'serialize')(method(parse5, 'parseFragment')(html));
    expect(serialize(lazy)).toBe(serialize(whole));
    expect(takeLazyLoaded()).toEqual(['parse5']);
    expect(Object.keys(lazy)).toEqual(Object.keys(whole));
    expect(typeof lazy).toBe(typeof whole);
  });
});

describe('a build through bin/kurier.js', () => {
  it('writes with the package bundles beside its own, byte for byte, what the sources write', async () => {
    const bundled = await project();
    const sources = await project();
    buildThroughBin(bundled);
    expect((await runCli(sources, ['build'])).code).toBe(0);
    const fromBundle = await readTree(path.join(bundled, 'out'));
    expect([...fromBundle.keys()].filter((file) => /\/email\.(html|txt)$/.test(file))).toHaveLength(2);
    expect([...fromBundle.keys()]).toEqual(expect.arrayContaining(['feed.xml', 'index.html']));
    expectSameFiles(fromBundle, await readTree(path.join(sources, 'out')));

    // Only the bundled loader writes code caches, beside the bundles in the folder of the run's bundle; a
    // build whose caches are all damaged rewrites them and writes the same files.
    const cache = path.join(repoRoot, 'node_modules', '.cache', 'kurier');
    const folders = (await readdir(cache)).map((folder) => path.join(cache, folder));
    const folder = folders.find((candidate) => existsSync(path.join(candidate, 'kurier.js')));
    if (folder === undefined) throw new Error(`no bundle of src/ in ${cache}`);
    const caches = PACKAGES.map((name) => path.join(folder, `${name}.cjs.v8cache`));
    for (const file of caches) expect(existsSync(file), file).toBe(true);
    for (const file of caches) await writeFile(file, Buffer.from('not a code cache at all'));
    const again = await project();
    buildThroughBin(again);
    expectSameFiles(await readTree(path.join(again, 'out')), fromBundle);
    for (const file of caches) expect((await readFile(file)).length, file).toBeGreaterThan(1000);
  }, 60_000);
});
