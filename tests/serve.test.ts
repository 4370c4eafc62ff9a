// `kurier serve` as a real process on 127.0.0.1: serving out/, rebuilding on a save, methods and links it refuses.

import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.ts';
import { FIXED_NOW, makeProject } from './support/project.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly allow: string | undefined;
}

/** A request with the path sent as written (fetch would resolve "..", a raw client may not). */
function get(base: string, rawPath: string, method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const call = request({ hostname, port, path: rawPath, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          allow: response.headers.allow,
        }),
      );
    });
    call.on('error', reject);
    call.end();
  });
}

describe('kurier serve', () => {
  it('serves out/ on 127.0.0.1, rebuilds on a change, keeps serving after a broken save, and stops', async () => {
    const root = await makeProject();
    roots.push(root);
    const out: string[] = [];
    const err: string[] = [];
    const controller = new AbortController();
    const running = main(['serve', '--port', '0'], {
      root,
      env: {},
      io: { isTTY: false, out: (line) => out.push(line), err: (line) => err.push(line), status: () => {} },
      now: () => FIXED_NOW,
      signal: controller.signal,
    });
    const base = await until(
      () => out.map((line) => /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1]).find(Boolean),
      'the server',
    );

    const article = await get(base, '/bochum-leben-nach-der-industrie/');
    expect(article.status).toBe(200);
    expect(article.body).toContain('<h1>Bochum zeigt: Es gibt ein Leben nach der Industrie</h1>');
    expect((await get(base, '/feed.xml')).body).toContain('<feed xmlns="http://www.w3.org/2005/Atom"');
    expect((await get(base, '/%2e%2e/content/site.yaml')).status).toBe(404);
    expect((await get(base, '/gibt-es-nicht/')).status).toBe(404);

    const file = path.join(root, 'content', 'posts', 'bochum-leben-nach-der-industrie.md');
    const source = await readFile(file, 'utf8');
    await writeFile(file, source.replace('title: "Bochum zeigt: Es gibt', 'title: "Bochum beweist: Es gibt'));
    await until(
      () => (out.filter((line) => line.startsWith('Built')).length >= 2 ? true : undefined),
      'a rebuild',
    );
    expect((await get(base, '/bochum-leben-nach-der-industrie/')).body).toContain(
      '<h1>Bochum beweist: Es gibt',
    );

    await writeFile(file, source.replace('date: 2026-11-26T08:00:00+01:00', 'date: 26.11.'));
    await until(
      () => (err.some((line) => line.includes('FRONT_MATTER_INVALID')) ? true : undefined),
      'the error',
    );
    expect(err.join('\n')).toContain('Still serving the last good build');
    expect((await get(base, '/bochum-leben-nach-der-industrie/')).status).toBe(200);

    // An editor's safe write (a new file renamed over the old one), then a save in place: both are seen.
    const saves = [
      { title: 'Bochum erfindet sich neu', safe: true },
      { title: 'Bochum bleibt Bochum', safe: false },
    ];
    for (const { title, safe } of saves) {
      const text = source.replace('Bochum zeigt: Es gibt ein Leben nach der Industrie', title);
      if (safe) {
        await writeFile(`${file}.tmp`, text);
        await rename(`${file}.tmp`, file);
      } else {
        await writeFile(file, text);
      }
      await until(
        async () =>
          (await get(base, '/bochum-leben-nach-der-industrie/')).body.includes(`<h1>${title}</h1>`)
            ? true
            : undefined,
        `the page after saving "${title}"`,
      );
    }

    controller.abort();
    expect(await running).toBe(0);
    await expect(get(base, '/')).rejects.toThrow();
  });

  it('follows no symbolic link below out/ and answers only GET and HEAD', async () => {
    const root = await makeProject();
    roots.push(root);
    const secret = path.join(root, 'geheim');
    await mkdir(secret);
    await writeFile(path.join(secret, 'passwort.txt'), 'streng geheim');
    const out: string[] = [];
    const controller = new AbortController();
    const running = main(['serve', '--port', '0'], {
      root,
      env: {},
      io: { isTTY: false, out: (line) => out.push(line), err: () => {}, status: () => {} },
      now: () => FIXED_NOW,
      signal: controller.signal,
    });
    const base = await until(
      () => out.map((line) => /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1]).find(Boolean),
      'the server',
    );
    await symlink(secret, path.join(root, 'out', 'link'));
    await symlink('/etc/passwd', path.join(root, 'out', 'passwd'));
    await symlink(
      path.join(secret, 'passwort.txt'),
      path.join(root, 'out', 'bochum-leben-nach-der-industrie', 'p'),
    );
    for (const target of ['/link/passwort.txt', '/link/', '/passwd', '/bochum-leben-nach-der-industrie/p']) {
      const answer = await get(base, target);
      expect([answer.status, answer.body], target).toEqual([404, 'Not found\n']);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const answer = await get(base, '/index.html', method);
      expect([answer.status, answer.allow], method).toEqual([405, 'GET, HEAD']);
    }
    const head = await get(base, '/', 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
    controller.abort();
    expect(await running).toBe(0);
  });

  it('says clearly that the port is taken, without a stack trace', async () => {
    const root = await makeProject();
    roots.push(root);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    const err: string[] = [];
    const code = await main(['serve', '--port', String(port)], {
      root,
      env: {},
      io: { isTTY: false, out: () => {}, err: (line) => err.push(line), status: () => {} },
      now: () => FIXED_NOW,
      signal: new AbortController().signal,
    });
    await new Promise((resolve) => blocker.close(resolve));
    expect(code).toBe(1);
    expect(err).toEqual([
      `PORT_IN_USE  port ${port} on 127.0.0.1 is in use (another kurier serve?): stop that program or choose another port with --port N (0 picks a free one).`,
    ]);
  });
});
