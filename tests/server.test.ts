// `kurier server` over real HTTP on 127.0.0.1, with a real store (SQLite file, PostgreSQL) and a real SMTP server.

import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.ts';
import { planListName, planUnsubscribeUrl } from '../src/subscribe/links.ts';
import { createToken, planKeyRing } from '../src/subscribe/tokens.ts';
import { makeProject } from './support/project.ts';
import { postOneClick, type RunningServer, startServer } from './support/server.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { BACKENDS, makeStoreFixture, type StoreFixture } from './support/store.ts';

const SECRET = 'test secret, long enough to sign';
const LIST = 'newsletter.kurier.example';
const ring = planKeyRing([SECRET]);
const DAY = 24 * 60 * 60 * 1000;
const JSON_ACCEPT = { accept: 'application/json' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function token(
  purpose: 'confirm' | 'unsubscribe',
  subscriberId: number,
  options: { list?: string; age?: number } = {},
) {
  return createToken(ring, {
    purpose,
    list: options.list ?? LIST,
    subscriberId,
    issuedAt: new Date(Date.now() - (options.age ?? 0)),
  });
}

async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = 15_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function confirmLink(raw: Buffer): string {
  const text = raw.toString('utf8').replace(/=\r\n/g, '').replace(/=3D/g, '=');
  const match = /http:\/\/127\.0\.0\.1:\d+\/confirm\?token=[A-Za-z0-9_-]+/.exec(text);
  if (match === null) throw new Error('no confirm link in the mail');
  return match[0];
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`kurier server on ${backend.name}`, () => {
    let fixture: StoreFixture;
    let store: Store;
    let smtp: TestSmtpServer;
    let server: RunningServer | undefined;
    let root: string;
    const ids: Record<string, number> = {};

    beforeEach(async () => {
      fixture = await makeStoreFixture(backend);
      root = await makeProject();
      smtp = await startSmtpServer();
      // The test's own store connection is opened (and migrated) before the server's; it then only reads.
      store = await fixture.open(new Date());
      const now = new Date();
      await store.add({ address: 'active@example.org', name: 'Aktiv', fields: {} }, 'test', now);
      await store.add({ address: 'gone@example.org', name: '', fields: {} }, 'test', now);
      await store.remove('gone@example.org', 'test', now);
      for (const address of ['active@example.org', 'gone@example.org']) {
        ids[address] = (await store.findSubscriber(address))?.id ?? 0;
      }
      server = await startServer(root, {
        KURIER_STATE_DIR: fixture.stateDir,
        DATABASE_URL: fixture.databaseUrl,
        KURIER_SECRET: SECRET,
        SMTP_URL: smtp.url,
      });
    });

    afterEach(async () => {
      if (server !== undefined) expect(await server.stop()).toBe(0);
      server = undefined;
      await smtp.close();
      await fixture.cleanup();
      await rm(root, { recursive: true, force: true });
    });

    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${server?.url}${path}`, {
        method: 'POST',
        body,
        headers: { ...FORM, ...headers },
        redirect: 'manual',
      });

    it('answers a sign-up the same for new, pending, active and unsubscribed addresses', async () => {
      await post('/subscribe', 'email=pending@example.org');
      const answers = [];
      for (const address of [
        'new@example.org',
        'pending@example.org',
        'active@example.org',
        'gone@example.org',
      ]) {
        const html = await post('/subscribe', `email=${encodeURIComponent(address)}`);
        const json = await post('/subscribe', `email=${encodeURIComponent(address)}`, JSON_ACCEPT);
        answers.push({
          status: html.status,
          location: html.headers.get('location'),
          body: await html.text(),
          jsonStatus: json.status,
          json: await json.json(),
        });
      }
      expect(answers[0]).toEqual({
        status: 303,
        location: 'subscribed',
        body: '',
        jsonStatus: 202,
        json: { status: 'check-your-inbox' },
      });
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect((await store.findSubscriber('new@example.org'))?.status).toBe('pending');
      expect((await store.findSubscriber('active@example.org'))?.status).toBe('active');
      expect((await store.findSubscriber('gone@example.org'))?.status).toBe('unsubscribed');
      expect(server?.lines.join('\n')).toContain(
        'subscriptions.url (content/site.yaml) and KURIER_PUBLIC_URL are not set',
      );
      const page = await fetch(`${server?.url}/subscribed`);
      expect(await page.text()).toContain('Bitte sehen Sie in Ihr Postfach');
    });

    it('mails one confirmation per address per 10 minutes; confirm shows a button, its POST activates', async () => {
      await post(
        '/subscribe',
        'email=Neu%40Example.org&name=Neu&page=https%3A%2F%2Fkurier.example%2F&consent=Ja%2C+bitte',
        {
          'user-agent': 'SignUp/1.0',
        },
      );
      await post('/subscribe', 'email=neu%40example.org');
      await post('/subscribe', 'email=neu%40example.org');
      const [mail] = await waitFor(
        () => (smtp.received.length > 0 ? smtp.received : undefined),
        'the confirmation mail',
      );
      expect(mail?.to).toEqual(['Neu@example.org']);
      // Give a second (throttled) mail the chance to show up: it must not.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(smtp.received).toHaveLength(1);
      const [parsed] = await smtp.parsed();
      expect(parsed?.subject).toBe('Bitte bestätigen Sie Ihr Abonnement von Kurier');
      expect(parsed?.text).toContain('Hallo Neu,');
      const link = confirmLink(mail?.raw ?? Buffer.alloc(0));
      expect(link).not.toContain('example.org');

      const shown = await fetch(link);
      expect(shown.status).toBe(200);
      const html = await shown.text();
      expect(html).toContain('<form method="post" action="confirm">');
      expect(html).toContain('<link rel="stylesheet" href="https://kurier.example/style.css">');
      expect(html).toContain('<html lang="de">');
      expect((await store.findSubscriber('neu@example.org'))?.status).toBe('pending');

      const tokenValue = new URL(link).searchParams.get('token') ?? '';
      const confirmed = await post('/confirm', `token=${tokenValue}`, { 'user-agent': 'Confirm/1.0' });
      expect(confirmed.status).toBe(200);
      expect(await confirmed.text()).toContain('Abonnement bestätigt');
      expect((await store.findSubscriber('neu@example.org'))?.status).toBe('active');
      const rows = [];
      for await (const rowsPage of store.exportSubscribers('active')) rows.push(...rowsPage);
      expect(rows.find((row) => row.email === 'Neu@example.org')).toMatchObject({
        consentSource: 'form',
        consentPage: 'https://kurier.example/',
        consentWording: 'Ja, bitte',
        consentIp: '127.0.0.1',
        consentUserAgent: 'SignUp/1.0',
        confirmIp: '127.0.0.1',
        confirmUserAgent: 'Confirm/1.0',
      });
      expect((await post('/confirm', `token=${tokenValue}`)).status).toBe(200);
    });

    it('takes a honeypot sign-up with the same answer and stores nothing', async () => {
      const response = await post('/subscribe', 'email=bot%40example.org&website=http%3A%2F%2Fspam.example');
      expect(response.status).toBe(303);
      expect(await store.findSubscriber('bot@example.org')).toBeUndefined();
    });

    it('refuses forged, expired, other-purpose and other-list tokens with 4xx, changing nothing', async () => {
      const pending = await post('/subscribe', 'email=p%40example.org', JSON_ACCEPT);
      expect(pending.status).toBe(202);
      const id = (await store.findSubscriber('p@example.org'))?.id ?? 0;
      const valid = token('confirm', id);
      const forged = `${valid.slice(0, 10)}${valid[10] === 'A' ? 'B' : 'A'}${valid.slice(11)}`;
      const bad = [
        [forged, 400],
        [token('confirm', id, { age: 8 * DAY }), 410],
        [token('unsubscribe', id), 400],
        [token('confirm', id, { list: 'newsletter.other.example' }), 400],
        [
          createToken(planKeyRing(['another secret of enough length']), {
            purpose: 'confirm',
            list: LIST,
            subscriberId: id,
            issuedAt: new Date(),
          }),
          400,
        ],
        ['', 400],
      ] as const;
      for (const [value, code] of bad) {
        expect((await fetch(`${server?.url}/confirm?token=${value}`)).status).toBe(code);
        expect((await post('/confirm', `token=${value}`)).status).toBe(code);
      }
      expect((await store.findSubscriber('p@example.org'))?.status).toBe('pending');
      const activeId = ids['active@example.org'] ?? 0;
      for (const value of [
        token('confirm', activeId),
        token('unsubscribe', activeId, { list: 'newsletter.other.example' }),
      ]) {
        expect((await post(`/unsubscribe?token=${value}`, 'List-Unsubscribe=One-Click')).status).toBe(400);
        expect((await post('/unsubscribe', `token=${value}`)).status).toBe(400);
        expect((await fetch(`${server?.url}/unsubscribe?token=${value}`)).status).toBe(400);
      }
      expect((await store.findSubscriber('active@example.org'))?.status).toBe('active');
    });

    it('changes nothing on any GET', async () => {
      await post('/subscribe', 'email=p%40example.org');
      const pendingId = (await store.findSubscriber('p@example.org'))?.id ?? 0;
      const activeId = ids['active@example.org'] ?? 0;
      const confirmPage = await fetch(`${server?.url}/confirm?token=${token('confirm', pendingId)}`);
      const unsubscribePage = await fetch(
        `${server?.url}/unsubscribe?token=${token('unsubscribe', activeId)}`,
      );
      expect([confirmPage.status, unsubscribePage.status]).toEqual([200, 200]);
      expect(await unsubscribePage.text()).toContain('<button type="submit">Newsletter abbestellen</button>');
      expect((await store.findSubscriber('p@example.org'))?.status).toBe('pending');
      expect((await store.findSubscriber('active@example.org'))?.status).toBe('active');
      expect((await fetch(`${server?.url}/subscribe?email=x%40example.org`)).status).toBe(404);
      expect(await store.findSubscriber('x@example.org')).toBeUndefined();
    });

    it('unsubscribes with the one-click POST at once (RFC 8058), form-encoded or multipart', async () => {
      const activeId = ids['active@example.org'] ?? 0;
      // The List-Unsubscribe URL as the newsletter will carry it, POSTed as Gmail does.
      const link = planUnsubscribeUrl(
        new URL(`${server?.url}/`),
        ring,
        planListName('https://kurier.example/'),
        activeId,
        new Date(),
      );
      const response = await postOneClick(link);
      expect(response.status).toBe(200);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toBe('unsubscribed\n');
      expect(await store.findSubscriber('active@example.org')).toMatchObject({
        status: 'unsubscribed',
        statusCause: 'one-click unsubscribe (RFC 8058)',
      });
      expect(await store.isSuppressed('active@example.org')).toBe(true);
      // A retried POST (Gmail retries) is answered the same.
      const form = new FormData();
      form.set('List-Unsubscribe', 'One-Click');
      const multipart = await fetch(`${server?.url}/unsubscribe?token=${token('unsubscribe', activeId)}`, {
        method: 'POST',
        body: form,
      });
      expect([multipart.status, await multipart.text()]).toEqual([200, 'unsubscribed\n']);
    });

    it('unsubscribes from the page’s button', async () => {
      const activeId = ids['active@example.org'] ?? 0;
      const response = await post('/unsubscribe', `token=${token('unsubscribe', activeId)}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('Sie erhalten den Newsletter nicht mehr.');
      expect((await store.findSubscriber('active@example.org'))?.statusCause).toBe('unsubscribe page');
    });

    it('limits sign-ups per IP and the size of a body; sends its security headers; logs no address or token', async () => {
      const statuses = [];
      for (let n = 0; n < 21; n += 1)
        statuses.push((await post('/subscribe', `email=r${n}%40example.org`)).status);
      expect(statuses.slice(0, 20).every((status) => status === 303)).toBe(true);
      const limited = await post('/subscribe', 'email=late%40example.org');
      expect(limited.status).toBe(429);
      expect(await limited.text()).toContain('Zu viele Anfragen');
      expect((await post('/subscribe', 'email=late%40example.org', JSON_ACCEPT)).status).toBe(429);
      expect(await store.findSubscriber('late@example.org')).toBeUndefined();
      // One-click unsubscribes are never limited.
      const activeId = ids['active@example.org'] ?? 0;
      expect(
        (await post(`/unsubscribe?token=${token('unsubscribe', activeId)}`, 'List-Unsubscribe=One-Click'))
          .status,
      ).toBe(200);

      const big = await post('/confirm', `token=${'a'.repeat(100_000)}`);
      expect(big.status).toBe(413);

      const health = await fetch(`${server?.url}/health`);
      expect(health.status).toBe(200);
      expect(health.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(health.headers.get('referrer-policy')).toBe('no-referrer');
      const log = server?.lines.join('\n') ?? '';
      expect(log).toMatch(/POST \/subscribe 303/);
      expect(log).toMatch(/POST \/unsubscribe 200/);
      expect(log).not.toContain('example.org');
      expect(log).not.toContain('token=');
    });
  });
}
