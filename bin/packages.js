// The packages that a build loads, each with its dependencies as one CommonJS file, which the threads load
// with a V8 code cache (src/code-cache.ts). Node 20 caches the code of neither CommonJS nor ES modules:
// `require('mjml')` resolves and compiles 640 modules, ~250 ms a build; the render path's CommonJS packages
// (handlebars, sanitize-html with postcss and htmlparser2, feed with xml-js, yaml) take ~115 ms a thread and
// the ES modules zod, htmlparser2 with entities, and marked another ~125 ms; one file each from its code
// cache loads in about a quarter of that (~30 ms and ~40 ms). bin/kurier.js writes them beside the bundle
// of src/, whose imports of them the plugin below turns into loads of these files.

import path from 'node:path';

/**
 * The packages bundled, each imported by one file of src/. mjml is loaded by src/email/compile.ts itself,
 * on first use; the others are imported as usual and reach the bundle of src/ through `packedImports`.
 * htmlparser2 and sanitize-html each carry a copy of entities (and sanitize-html one of htmlparser2), as
 * node_modules gives them the CommonJS build and src/ the ES module one.
 */
export const PACKAGES = [
  'handlebars',
  'sanitize-html',
  'feed',
  'yaml',
  'zod',
  'marked',
  'htmlparser2',
  'entities',
  'mjml',
];

/**
 * Packages that mjml requires at load but that cannot run under the options Kurier gives it
 * (src/email/compile.ts: no beautify, no minify, MJML from a string, no remote resources):
 * - js-beautify: only mjml-core's formatHtml, for `beautify: true`.
 * - htmlnano (with posthtml, cosmiconfig, js-yaml, postcss) and cssnano-preset-lite: only for `minify: true`.
 * - web-resource-inliner: only juice's juiceResources, juiceFile and inlineExternal; mjml calls juice itself.
 * - undici, encoding-sniffer (iconv-lite) and parse5-parser-stream: only cheerio's fromURL, loadBuffer,
 *   stringStream and decodeStream; mjml and juice call cheerio's load.
 * Each becomes a stub that throws when anything of it is called, so a wrong entry fails loudly instead
 * of changing the email; tests/packages-bundle.test.ts compiles the sample emails both ways and compares.
 */
export const LEFT_OUT = [
  'js-beautify',
  'htmlnano',
  'cssnano-preset-lite',
  'web-resource-inliner',
  'undici',
  'encoding-sniffer',
  'parse5-parser-stream',
];

/** Marks the stub's error, so that src/email/compile.ts reports it as the bug it is, not as a template error. */
export const LEFT_OUT_CODE = 'KURIER_MJML_LEFT_OUT';

function stubSource(name) {
  return `'use strict';
function fail(path) {
  const error = new Error(${JSON.stringify(name)} + ' (' + path + ') was called, but it is left out of the MJML bundle because it cannot run under Kurier\\'s options; remove it from LEFT_OUT in bin/packages.js.');
  error.code = ${JSON.stringify(LEFT_OUT_CODE)};
  throw error;
}
// Any property is another stub, so that requiring the package and picking its exports at load still works.
function stub(path) {
  return new Proxy(function () {}, {
    get: (target, key) =>
      typeof key === 'symbol' || key === '__esModule' || key === 'then' ? undefined : stub(path + '.' + key),
    apply: () => fail(path),
    construct: () => fail(path),
  });
}
module.exports = stub(${JSON.stringify(name)});
`;
}

const leftOut = {
  name: 'kurier-left-out',
  setup(build) {
    const filter = new RegExp(`^(${LEFT_OUT.join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'kurier-left-out' }));
    build.onLoad({ filter: /.*/, namespace: 'kurier-left-out' }, (args) => ({
      contents: stubSource(args.path),
      loader: 'js',
    }));
  },
};

/**
 * The bundle's text of package `name` (one of PACKAGES), as installed in `root`; `build` is esbuild's
 * (imported by bin/kurier.js alone).
 */
export async function bundlePackage(root, build, name) {
  const result = await build({
    stdin: {
      contents: `module.exports = require(${JSON.stringify(name)});`,
      resolveDir: root,
      sourcefile: `${name}-entry.cjs`,
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20.19',
    // Keeps the functions' and classes' names that scope hoisting would rename.
    keepNames: true,
    plugins: name === 'mjml' ? [leftOut] : [],
    write: false,
    logLevel: 'error',
    absWorkingDir: root,
  });
  const [file] = result.outputFiles;
  if (file === undefined) throw new Error(`esbuild wrote no bundle of ${name}`);
  return file.contents;
}

/**
 * The plugin that turns the src/ bundle's imports of PACKAGES (but mjml) into loads of their bundles through
 * `codeCacheModule` (src/code-cache.ts). The stand-in is CommonJS, so that esbuild gives `import x from` and
 * `import { y } from` what Node gives for a CommonJS package: `module.exports` and its properties.
 */
export function packedImports(codeCacheModule) {
  const names = PACKAGES.filter((name) => name !== 'mjml');
  return {
    name: 'kurier-packed',
    setup(build) {
      const filter = new RegExp(`^(${names.join('|')})$`);
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'kurier-packed' }));
      build.onLoad({ filter: /.*/, namespace: 'kurier-packed' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(codeCacheModule)}).requirePacked(${JSON.stringify(args.path)});`,
        loader: 'js',
        resolveDir: path.dirname(codeCacheModule),
      }));
    },
  };
}
