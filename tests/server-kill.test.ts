// `kurier server` killed with SIGKILL in the middle of sign-ups loses no confirmation mail: the queue is in
// the store, and the restarted server sends what is left (after the dead one's claims run out).

import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { makeProject } from './support/project.ts';
import { spawnServer } from './support/server.ts';
import { startSmtpServer } from './support/smtp.ts';
import { BACKENDS, makeStoreFixture } from './support/store.ts';

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`kurier server killed on ${backend.name}`, () => {
    it('sends every accepted sign-up its confirmation mail after a restart', async () => {
      const fixture = await makeStoreFixture(backend);
      const root = await makeProject();
      // A slow SMTP server keeps a backlog in the queue when the kill comes.
      const smtp = await startSmtpServer({ delayMs: 150 });
      const env = {
        KURIER_STATE_DIR: fixture.stateDir,
        DATABASE_URL: fixture.databaseUrl,
        KURIER_SECRET: 'test secret, long enough to sign',
        SMTP_URL: smtp.url,
      };
      try {
        const first = await spawnServer(root, env);
        const accepted: string[] = [];
        const exited = new Promise((resolve) => first.child.once('exit', resolve));
        let killed = false;
        const signUp = async (n: number) => {
          const address = `reader${n}@example.org`;
          try {
            const response = await fetch(`${first.url}/subscribe`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
              body: `email=${address}`,
            });
            if (response.status === 202) accepted.push(address);
          } catch {
            // In flight when the process died: not accepted, so nothing was promised.
          }
          if (accepted.length >= 12 && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        };
        for (let n = 0; n < 20 && !killed; n += 4) await Promise.all([0, 1, 2, 3].map((k) => signUp(n + k)));
        await exited;
        expect(killed).toBe(true);
        const sentBeforeKill = new Set(smtp.received.flatMap((message) => message.to));
        expect(sentBeforeKill.size).toBeLessThan(accepted.length);

        const second = await spawnServer(root, env);
        const until = Date.now() + 50_000;
        const delivered = () => new Set(smtp.received.flatMap((message) => message.to));
        while (accepted.some((address) => !delivered().has(address)) && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect(accepted.filter((address) => !delivered().has(address))).toEqual([]);
        const stopped = new Promise<number | null>((resolve) => second.child.once('exit', resolve));
        second.child.kill('SIGTERM');
        expect(await stopped).toBe(0);
        expect(second.output.join('')).toContain('stopping after the requests and the mail in flight');
      } finally {
        await smtp.close();
        await fixture.cleanup();
        await rm(root, { recursive: true, force: true });
      }
    }, 120_000);
  });
}
