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
 * Modules that mjml requires when it loads but reads later, if at all. Each is replaced by an object that
 * requires the module when it is first read, so that only a use pays for its load:
 * - lodash/fp converts all of lodash's ~300 methods when it loads, ~25 ms of MJML's ~60 ms load from its code
 *   cache. mjml-parser-xml, mjml-section and mjml-hero read five of them, at load and per email: these come
 *   one by one from lodash's modules of one method (lodash/fp/<name>.js, the same conversion), under 2 ms.
 * - parse5 (~3 ms with its tables of entities): cheerio parses and serializes with it only without the xml
 *   options that juice and mjml-core always give it.
 * The object reads like the module (any other name loads it whole), so a wrong entry here makes a load slower,
 * never an email different; tests/packages-bundle.test.ts checks that the emails load none of them whole.
 */
export const LAZY = {
  'lodash/fp': {
    // Like lodash's `_`, lodash/fp is a function with the methods as its properties.
    callable: true,
    methods: ['filter', 'flow', 'identity', 'join', 'map'],
    methodFile: (file, name) => path.join(path.dirname(file), 'fp', `${name}.js`),
  },
  parse5: { callable: false, methods: [] },
};

/** The global list of LAZY's modules that a bundle has loaded whole, for the tests. */
export const LAZY_LOADED = '__kurierLazyLoaded';

/** The stand-in of module `name` (a key of LAZY), whose file the importer would get is `file`. */
function lazySource(name, file) {
  const { callable, methods, methodFile } = LAZY[name];
  const requires = methods.map(
    (method) => `  ${JSON.stringify(method)}: () => require(${JSON.stringify(methodFile(file, method))}),`,
  );
  return `'use strict';
const methods = {
${requires.join('\n')}
};
const loaded = new Map();
let whole;
function full() {
  if (whole === undefined) {
    whole = require(${JSON.stringify(file)});
    (globalThis[${JSON.stringify(LAZY_LOADED)}] ??= []).push(${JSON.stringify(name)});
  }
  return whole;
}
// A bound function has no own "prototype", which a proxy would have to report as the target's.
module.exports = new Proxy(${callable ? 'function () {}.bind(null)' : '{}'}, {
  apply: (target, self, args) => Reflect.apply(full(), self, args),
  construct: (target, args) => Reflect.construct(full(), args),
  get(target, key) {
    if (typeof key === 'string' && Object.hasOwn(methods, key)) {
      if (!loaded.has(key)) loaded.set(key, methods[key]());
      return loaded.get(key);
    }
    return full()[key];
  },
  has: (target, key) => key in full(),
  ownKeys: () => Reflect.ownKeys(full()),
  // A proxy may not report a property that its (empty) target lacks as non-configurable.
  getOwnPropertyDescriptor(target, key) {
    const descriptor = Reflect.getOwnPropertyDescriptor(full(), key);
    return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
  },
});
`;
}

/** Gives the importers of LAZY's modules `lazySource`'s object instead. */
export const lazyModules = {
  name: 'kurier-lazy',
  setup(build) {
    const filter = new RegExp(`^(${Object.keys(LAZY).join('|')})$`);
    build.onResolve({ filter }, async (args) => {
      if (args.pluginData?.real === true) return undefined;
      // The file that the importer would get (a package may carry its own copy).
      const real = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: { real: true },
      });
      if (real.errors.length > 0) return { errors: real.errors };
      // The path names the module in the bundle's comments; pluginData carries where it is.
      return {
        path: path.relative(build.initialOptions.absWorkingDir, real.path),
        namespace: 'kurier-lazy',
        pluginData: { name: args.path, file: real.path },
      };
    });
    build.onLoad({ filter: /.*/, namespace: 'kurier-lazy' }, (args) => ({
      contents: lazySource(args.pluginData.name, args.pluginData.file),
      loader: 'js',
      resolveDir: path.dirname(args.pluginData.file),
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
    plugins: name === 'mjml' ? [leftOut, lazyModules] : [],
    write: false,
    logLevel: 'error',
    absWorkingDir: root,
  });
  const [file] = result.outputFiles;
  if (file === undefined) throw new Error(`esbuild wrote no bundle of ${name}`);
  // esbuild escapes every non-ASCII character of code (its default charset), but not of the comments that
  // it keeps: one "—" in a comment made V8 hold all of MJML's 2 MB as a two-byte string, decoded from UTF-8
  // (~5 ms of its load). Escaped, a comment says the same.
  return file.text.replace(/[^\0-\x7f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
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
