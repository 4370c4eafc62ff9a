// Types of bin/packages.js, for the test that builds through the package bundles.

/** The packages bundled, one CommonJS file each. */
export declare const PACKAGES: readonly string[];
/** Packages replaced by stubs that throw when called. */
export declare const LEFT_OUT: readonly string[];
/** The `code` of a stub's error. */
export declare const LEFT_OUT_CODE: string;
/** Package `name` and its dependencies as one CommonJS file's text, as installed in `root`, by esbuild's `build`. */
export declare function bundlePackage(
  root: string,
  build: typeof import('esbuild').build,
  name: string,
): Promise<string>;
/** The lodash/fp methods that the MJML bundle takes one by one from lodash/fp/<name>.js. */
export declare const LODASH_FP_METHODS: readonly string[];
/** The global that the MJML bundle's lodash/fp sets once it has loaded the whole of lodash/fp. */
export declare const LODASH_FP_WHOLE: string;
/** The esbuild plugin that gives lodash/fp's importers the object that loads it one method at a time. */
export declare const lazyLodashFp: import('esbuild').Plugin;
/** The esbuild plugin that loads the src/ bundle's imports of PACKAGES from their bundles. */
export declare function packedImports(codeCacheModule: string): import('esbuild').Plugin;
