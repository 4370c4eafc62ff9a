import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
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

/** A GET with the path sent as written (fetch would resolve "..", a raw client may not). */
function get(base: string, rawPath: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const call = request({ hostname, port, path: rawPath }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
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
});
