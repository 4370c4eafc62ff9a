// The preview's web server: out/ as a static host serves it, on 127.0.0.1 only, following no link.

import { lstat, readFile, realpath } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { KurierError } from '../error.ts';

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

export function startStaticServer(outDir: string, port: number): Promise<Server> {
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
