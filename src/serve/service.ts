// The preview behind `kurier serve`: builds, serves out/ on 127.0.0.1 and builds again on every change of
// content/, templates/ or static/. The model and out/ as last written stay in memory between builds, so a
// save re-reads, re-parses, re-renders and re-writes only what it touches; the page, the index and the feeds
// are on disk before the email is compiled, and the caches of the state folder are written once saves pause.

import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildPublication, writeBuildCaches } from '../build/build.ts';
import type { BuildMemory } from '../build/parse-cache.ts';
import { KurierError } from '../error.ts';
import { startStaticServer } from './static-server.ts';
import { watchFolders } from './watch.ts';

export interface PreviewOptions {
  readonly root: string;
  readonly outDir: string;
  readonly stateDir: string;
  /** On 127.0.0.1; 0 picks a free one. */
  readonly port: number;
  /** The clock the build times are measured with. */
  readonly now: () => Date;
  /** Told after every build, good or failed. */
  readonly onBuild: (report: BuildReport) => void;
}

export type BuildReport =
  | {
      readonly ok: true;
      readonly articles: number;
      /** Files whose bytes changed in out/. */
      readonly changed: number;
      readonly milliseconds: number;
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly error: KurierError };

export interface Preview {
  /** The port the server listens on. */
  readonly port: number;
  /** Stops watching, lets a running build finish, and stops the server. */
  close(): Promise<void>;
}

/** How long the folders must be quiet after a change before the build starts (see watch.ts). */
const QUIET_MS = 10;

/**
 * How long after a build the caches of the state folder are written (a parse cache of 1,000 articles is
 * 1.2 MB to serialize, hash and write): the builds of this process use the ones in memory, so a burst of
 * saves writes them once, and a reader's page never waits for them.
 */
const CACHES_AFTER_MS = 1000;

/**
 * Starts the server (first: a taken port is reported before a build that would be thrown away), builds once,
 * and watches. A build that fails with a KurierError is reported and the last good out/ stays served; any
 * other error is a bug and comes out of `close`.
 */
export async function startPreview(options: PreviewOptions): Promise<Preview> {
  const server = await startStaticServer(options.outDir, options.port);
  const memory: BuildMemory = {};
  const build = async () => {
    const started = options.now().getTime();
    try {
      const result = await buildPublication({
        root: options.root,
        outDir: options.outDir,
        stateDir: options.stateDir,
        fullArticles: false,
        memory,
        emailsAfterPages: true,
        cachesLater: true,
      });
      options.onBuild({
        ok: true,
        articles: result.articles.length,
        changed: result.written.filter((file) => file.changed).length,
        milliseconds: options.now().getTime() - started,
        warnings: result.warnings,
      });
    } catch (error) {
      if (!(error instanceof KurierError)) throw error;
      options.onBuild({ ok: false, error });
    }
  };
  const stopServer = () => new Promise((resolve) => server.close(resolve));
  try {
    await build();
  } catch (error) {
    await memory.emails?.stop();
    await stopServer();
    throw error;
  }

  // One build after another, never two at once; the caches are written between them.
  let running = Promise.resolve();
  const writeCaches = () => writeBuildCaches(options.stateDir, memory);
  let cachesTimer: NodeJS.Timeout | undefined;
  const scheduleCaches = () => {
    clearTimeout(cachesTimer);
    cachesTimer = setTimeout(() => {
      running = running.then(writeCaches);
    }, CACHES_AFTER_MS);
  };
  scheduleCaches();
  const watchers = watchFolders(
    ['content', 'templates', 'static'].map((folder) => path.join(options.root, folder)),
    QUIET_MS,
    () => {
      running = running.then(build).then(scheduleCaches);
    },
  );
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      watchers.close();
      clearTimeout(cachesTimer);
      try {
        await running;
        await writeCaches();
      } finally {
        await memory.emails?.stop();
        await stopServer();
      }
    },
  };
}
