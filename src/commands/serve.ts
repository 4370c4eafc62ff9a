// `kurier serve`: builds, serves out/ on 127.0.0.1 and rebuilds whenever content/, templates/ or static/ change.

import { type FSWatcher, readdirSync, watch } from 'node:fs';
import { lstat, readFile, realpath } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildPublication } from '../build/build.ts';
import type { BuildMemory } from '../build/parse-cache.ts';
import type { CommandContext, Paths } from '../context.ts';
import { formatError, KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { defineCommand, outOption, stateOption } from './command.ts';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
};

/**
 * The file below `outDir` a URL path names, as a static host serves it ("slug/" → slug/index.html). No
 * symbolic link below out/ is followed: a link to /etc would otherwise serve the whole folder.
 */
async function resolveFile(outDir: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const file = path.resolve(outDir, `.${path.posix.normalize(decoded)}`);
  if (file !== outDir && !file.startsWith(`${outDir}${path.sep}`)) return undefined;
  const [real, realOut] = await Promise.all([
    realpath(file).catch(() => undefined),
    realpath(outDir).catch(() => undefined),
  ]);
  if (real === undefined || realOut === undefined) return undefined;
  if (path.relative(realOut, real) !== path.relative(outDir, file)) return undefined;
  const info = await lstat(real).catch(() => undefined);
  if (info?.isFile()) return real;
  if (info?.isDirectory()) return resolveFile(outDir, `${decoded.replace(/\/?$/, '/')}index.html`);
  return undefined;
}

function startServer(outDir: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    // A preview of static files: nothing to post, put or delete (RFC 9110 §15.5.6: 405 names what is allowed).
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('Method not allowed: kurier serve only answers GET and HEAD.\n');
      return;
    }
    const urlPath = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    resolveFile(outDir, urlPath)
      .then(async (file) => {
        if (file === undefined) {
          response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          response.end('Not found\n');
          return;
        }
        const body = await readFile(file);
        response.writeHead(200, {
          'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
          'content-length': body.byteLength,
          'cache-control': 'no-store',
        });
        response.end(request.method === 'HEAD' ? undefined : body);
      })
      .catch((error: unknown) => {
        response.writeHead(500);
        response.end(String(error));
      });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new KurierError(
              'PORT_IN_USE',
              `port ${port} on 127.0.0.1 is in use (another kurier serve?): stop that program or choose another port with --port N (0 picks a free one).`,
              { cause: error },
            )
          : error.code === 'EACCES'
            ? new KurierError(
                'USAGE',
                `port ${port} needs administrator rights: choose a port above 1023 with --port N.`,
                { cause: error },
              )
            : error,
      );
    });
    // Loopback only: a preview of unpublished work is nobody else's business.
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * A watcher per folder below `roots`, renewed when folders come and go. Node 20's recursive watch on Linux
 * watches the files themselves, so it misses every change after an editor's safe write (a new file renamed
 * over the old one); a folder's watcher sees every change of the names in it.
 */
function watchFolders(roots: readonly string[], onChange: () => void): { close(): void } {
  const watchers = new Map<string, FSWatcher>();
  const refresh = () => {
    const folders = new Set(
      roots.flatMap((root) => {
        try {
          const below = readdirSync(root, { recursive: true, withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => path.join(entry.parentPath, entry.name));
          return [root, ...below];
        } catch {
          return [];
        }
      }),
    );
    for (const [folder, watcher] of watchers) {
      if (folders.has(folder)) continue;
      watcher.close();
      watchers.delete(folder);
    }
    for (const folder of folders) {
      if (watchers.has(folder)) continue;
      try {
        watchers.set(folder, watch(folder, changed));
      } catch {
        // Gone again before it could be watched; the next refresh looks again.
      }
    }
  };
  const changed = () => {
    refresh();
    onChange();
  };
  refresh();
  return {
    close: () => {
      for (const watcher of watchers.values()) watcher.close();
    },
  };
}

async function rebuild(context: CommandContext, paths: Paths, memory: BuildMemory): Promise<void> {
  const started = context.now().getTime();
  try {
    const result = await buildPublication({
      root: context.root,
      outDir: paths.outDir,
      stateDir: paths.stateDir,
      fullArticles: false,
      memory,
    });
    const changed = result.written.filter((file) => file.changed).length;
    for (const warning of result.warnings) context.io.err(`warning: ${warning}`);
    context.io.out(
      `Built ${result.articles.length} article(s): ${changed} file(s) changed in ${context.now().getTime() - started} ms.`,
    );
  } catch (error) {
    if (!(error instanceof KurierError)) throw error;
    context.io.err(formatError(error));
    context.io.err('Still serving the last good build; fix the problem and save again.');
  }
}

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Build, serve out/ on 127.0.0.1 and rebuild on every change',
  usage: 'kurier serve [--port N] [--out DIR] [--state DIR]',
  about: `Builds the publication, serves out/ at http://127.0.0.1:4000/ (as a static host would: "slug/"
answers with slug/index.html) and rebuilds whenever a file in content/, templates/ or static/
changes. A build that fails is reported and the last good out/ stays served. Ctrl-C stops.`,
  options: {
    port: {
      type: 'string',
      value: 'N',
      help: 'port on 127.0.0.1 (default: 4000; 0 picks a free one)',
      schema: z.coerce
        .number({ error: 'give a port number from 0 to 65535' })
        .int('give a port number from 0 to 65535')
        .min(0, 'give a port number from 0 to 65535')
        .max(65_535, 'give a port number from 0 to 65535')
        .default(4000),
    },
    out: outOption('where to build (default: out)'),
    state: stateOption,
  },
  allowPositionals: false,
  async run({ port }, _positionals, context) {
    const { paths } = context;
    // The port first: when it is taken, say so before a build that would only be thrown away.
    const server = await startServer(paths.outDir, port);
    // The model stays in memory between builds: an edit re-parses and re-renders only what it touches.
    const memory: BuildMemory = {};
    try {
      await rebuild(context, paths, memory);
    } catch (error) {
      await memory.emails?.stop();
      await new Promise((resolve) => server.close(resolve));
      throw error;
    }
    context.io.out(
      `Serving ${path.relative(context.root, paths.outDir) || '.'}/ at http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    );

    // Editors save in bursts (temp file, rename, chmod): one rebuild after the burst, never two at once.
    let timer: NodeJS.Timeout | undefined;
    let running = Promise.resolve();
    const schedule = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        running = running.then(() => rebuild(context, paths, memory));
      }, 20);
    };
    const watchers = watchFolders(
      ['content', 'templates', 'static'].map((folder) => path.join(context.root, folder)),
      schedule,
    );
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) resolve();
      context.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearTimeout(timer);
    watchers.close();
    await running;
    await memory.emails?.stop();
    await new Promise((resolve) => server.close(resolve));
    return 0;
  },
});
