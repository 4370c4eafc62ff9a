// The HTTP edge when the store fails under it: 503, and a log line that names no address.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createApp } from '../src/server/app.ts';
import { preparePages, readPageTemplate } from '../src/server/pages.ts';
import { openStore } from '../src/store/open.ts';
import { planKeyRing } from '../src/subscribe/tokens.ts';
import { repoRoot } from './support/project.ts';

it('answers 503 when the store is gone, logging no address', async () => {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'kurier-app-'));
  const store = await openStore({ stateDir, now: new Date(), randomBytes });
  await store.close();
  const lines: string[] = [];
  const app = await createApp({
    subscriptions: {
      store,
      ring: planKeyRing(['a secret of enough length']),
      list: 'l',
      now: () => new Date(),
    },
    pages: preparePages(await readPageTemplate(path.join(repoRoot, 'templates')), {
      title: 'Kurier',
      url: 'https://kurier.example/',
      language: 'de',
    }),
    siteOrigin: 'https://kurier.example',
    defaultWording: 'Ja',
    onSignUp: () => {},
    log: (line) => lines.push(line),
    trustProxy: false,
    signUpLimit: { max: 10, windowMs: 60_000 },
  });
  try {
    const url = await app.listen('127.0.0.1', 0);
    const response = await fetch(`${url}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=anna%40example.org',
    });
    expect(response.status).toBe(503);
    expect((await fetch(`${url}/health`)).status).toBe(503);
    expect(lines.some((line) => line.startsWith('error POST /subscribe: '))).toBe(true);
    expect(lines.join('\n')).not.toContain('example.org');
  } finally {
    await app.close();
    await rm(stateDir, { recursive: true, force: true });
  }
});
