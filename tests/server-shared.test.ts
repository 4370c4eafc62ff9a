// Two `kurier server`s on one PostgreSQL database: a sign-up on one is confirmed on the other, one mail sent.

import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { makeProject } from './support/project.ts';
import { startServer } from './support/server.ts';
import { startSmtpServer } from './support/smtp.ts';
import { BACKENDS, makeStoreFixture } from './support/store.ts';

const postgres = BACKENDS.find((backend) => backend.name === 'postgres');

describe.skipIf(postgres?.available !== true)('two kurier servers on one PostgreSQL', () => {
  it('confirms on one server what was signed up on the other', async () => {
    const fixture = await makeStoreFixture(postgres ?? { name: 'postgres', available: false });
    const root = await makeProject();
    const smtp = await startSmtpServer();
    const env = {
      KURIER_STATE_DIR: fixture.stateDir,
      DATABASE_URL: fixture.databaseUrl,
      KURIER_SECRET: 'test secret, long enough to sign',
      SMTP_URL: smtp.url,
    };
    const [one, two] = await Promise.all([startServer(root, env), startServer(root, env)]);
    try {
      const signUp = await fetch(`${one.url}/subscribe`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: 'email=shared%40example.org',
      });
      expect(signUp.status).toBe(202);
      const until = Date.now() + 15_000;
      while (smtp.received.length === 0 && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 50));
      const text = smtp.received[0]?.raw.toString('utf8').replace(/=\r\n/g, '').replace(/=3D/g, '=') ?? '';
      const token = /confirm\?token=([A-Za-z0-9_-]+)/.exec(text)?.[1] ?? '';
      const confirmed = await fetch(`${two.url}/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${token}`,
      });
      expect(confirmed.status).toBe(200);
      const store = await fixture.open();
      expect((await store.findSubscriber('shared@example.org'))?.status).toBe('active');
      // Both servers poll the queue: the claim lets only one of them send.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(smtp.received).toHaveLength(1);
    } finally {
      expect(await one.stop()).toBe(0);
      expect(await two.stop()).toBe(0);
      await smtp.close();
      await fixture.cleanup();
      await rm(root, { recursive: true, force: true });
    }
  });
});
