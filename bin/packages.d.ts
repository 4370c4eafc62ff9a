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
/** Modules of the MJML bundle that load when first read; `methods` come one by one from `methodFile`. */
export declare const LAZY: Readonly<
  Record<
    string,
    {
      /** Whether the module's exports are a function. */
      readonly callable: boolean;
      readonly methods: readonly string[];
      readonly methodFile?: (file: string, method: string) => string;
    }
  >
>;
/** The global list of LAZY's modules that a bundle has loaded whole. */
export declare const LAZY_LOADED: string;
/** The esbuild plugin that gives the importers of LAZY's modules objects that load them when first read. */
export declare const lazyModules: import('esbuild').Plugin;
/** The esbuild plugin that loads the src/ bundle's imports of PACKAGES from their bundles. */
export declare function packedImports(codeCacheModule: string): import('esbuild').Plugin;
