// Types of bin/mjml-bundle.js, for the test that compiles emails through the bundle.

/** Packages replaced by stubs that throw when called. */
export declare const LEFT_OUT: readonly string[];
/** The `code` of a stub's error. */
export declare const LEFT_OUT_CODE: string;
/** MJML and its dependencies as one CommonJS file's text, for `root`'s installed mjml, made by esbuild's `build`. */
export declare function bundleMjml(root: string, build: typeof import('esbuild').build): Promise<Uint8Array>;
