// `kurier bounces` end to end on the subscriber store (SQLite, and PostgreSQL when there is one), every step
// the real CLI as a child process: `publish` to a real SMTP server on 127.0.0.1 with VERP return paths, a
// bounce and a complaint to those return paths delivered into a real Dovecot, `bounces`, `status`, and the
// next `publish` mails neither reader. And runs killed with SIGKILL at points of progress: every message
// recorded exactly once.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_FOLDERS } from '../src/bounces/imap.ts';
import { planVerpKeys } from '../src/bounces/keys.ts';
import { planVerpAddress } from '../src/bounces/verp.ts';
import { buildAndPickArticle } from '../src/build/pick.ts';
import { frozenMessageOf } from '../src/send/message.ts';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/store.ts';
import { startDovecot, TestImapClient, type TestImapServer } from './support/dovecot.ts';
import { makeProject, repoRoot } from './support/project.ts';
import { lacks } from './support/requirements.ts';
import { startServer } from './support/server.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { BACKENDS, makeStoreFixture, type StoreFixture } from './support/store.ts';

const SECRET = 'the secret of the end-to-end test list';
const BOUNCES = 'bounces@kurier.example';
const keys = planVerpKeys([SECRET]);
const T0 = new Date('2026-11-26T10:00:00Z');

function verp(sendId: number, index: number): string {
  return planVerpAddress(BOUNCES, 'bounce', keys, sendId, index);
}

/** A delivery status notification (RFC 3464) to the return path of the message it returns. */
function dsn(
  id: string,
  returnPath: string,
  recipient: string,
  action: 'failed' | 'delayed',
  original: string,
) {
  const status = action === 'failed' ? '5.1.1' : '4.2.2';
  const diagnostic = action === 'failed' ? '550 5.1.1 <user unknown>' : '452 4.2.2 Mailbox full';
  return Buffer.from(
    [
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
      `To: ${returnPath}`,
      `Subject: ${action === 'failed' ? 'Undelivered Mail Returned to Sender' : 'Delayed Mail (still being retried)'}`,
      'Date: Thu, 26 Nov 2026 11:00:00 +0000',
      `Message-ID: <${id}@mx.example.net>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '',
      '--b',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.net',
      'Arrival-Date: Thu, 26 Nov 2026 10:59:58 +0000',
      '',
      `Final-Recipient: rfc822; ${recipient}`,
      `Action: ${action}`,
      `Status: ${status}`,
      'Remote-MTA: dns; mail.example.net',
      `Diagnostic-Code: smtp; ${diagnostic}`,
      '',
      '--b',
      'Content-Type: text/rfc822-headers',
      '',
      original,
      '--b--',
      '',
    ].join('\r\n'),
  );
}

/** A feedback-loop complaint (RFC 5965) about the message, sent to its return path. */
function arf(id: string, returnPath: string, recipient: string, original: string): Buffer {
  return Buffer.from(
    [
      'From: Feedback Loop <feedback@fbl.example.net>',
      `To: ${returnPath}`,
      'Subject: FW: complaint',
      'Date: Thu, 26 Nov 2026 11:05:00 +0000',
      `Message-ID: <${id}@fbl.example.net>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=feedback-report; boundary="f"',
      '',
      '--f',
      'Content-Type: text/plain',
      '',
      'This is an email abuse report.',
      '',
      '--f',
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: abuse',
      'User-Agent: FBL/1.0',
      'Version: 1',
      `Original-Mail-From: <${returnPath}>`,
      `Original-Rcpt-To: <${recipient}>`,
      '',
      '--f',
      'Content-Type: message/rfc822',
      '',
      `Return-Path: <${returnPath}>`,
      original,
      '--f--',
      '',
    ].join('\r\n'),
  );
}

function newsletter(sendId: number, index: number, to: string): string {
  return [
    'From: Kurier <newsletter@kurier.example>',
    `To: ${to}`,
    'Subject: Kurier: Neues aus Bochum',
    'Date: Thu, 26 Nov 2026 10:00:00 +0000',
    `Message-ID: <s${sendId}.r${index}@kurier.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
  ].join('\r\n');
}

interface CliResult {
  readonly code: number | null;
  readonly killed: boolean;
  readonly out: string;
  readonly err: string;
}

/** `node bin/kurier.js <args>` as a user runs it; `killWhen` is polled, and the child killed once it holds. */
function runKurier(
  root: string,
  args: readonly string[],
  env: Record<string, string>,
  killWhen?: () => Promise<boolean>,
  delayMs = 0,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/kurier.js'), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
    });
    child.stderr.on('data', (data: Buffer) => {
      err += data.toString();
    });
    let watching = killWhen !== undefined;
    const watch = async () => {
      while (watching) {
        if (await killWhen?.().catch(() => false)) {
          setTimeout(() => child.kill('SIGKILL'), delayMs);
          return;
        }
        await new Promise((next) => setTimeout(next, 5));
      }
    };
    void watch();
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      watching = false;
      resolve({ code, killed: signal === 'SIGKILL', out, err });
    });
  });
}

for (const backend of BACKENDS) {
  describe.skipIf(lacks('dovecot') || (backend.name === 'postgres' && lacks('postgres')))(
    `kurier bounces on the ${backend.name} store`,
    () => {
      let imapServer: TestImapServer;
      let imap: TestImapClient;
      let smtp: TestSmtpServer;
      let fixture: StoreFixture;
      let root: string;
      let env: Record<string, string>;

      beforeEach(async () => {
        imapServer = await startDovecot();
        imap = await TestImapClient.connect(imapServer);
        smtp = await startSmtpServer();
        fixture = await makeStoreFixture(backend);
        root = await makeProject({ bounceAddress: BOUNCES });
        env = {
          KURIER_SECRET: SECRET,
          BOUNCE_IMAP_URL: imapServer.url,
          KURIER_STATE_DIR: fixture.stateDir,
          ...(fixture.databaseUrl === undefined ? {} : { DATABASE_URL: fixture.databaseUrl }),
        };
      });

      afterEach(async () => {
        await imap.close();
        await imapServer.stop();
        await smtp.close();
        await fixture.cleanup();
        await rm(root, { recursive: true, force: true });
      });

      async function openTestStore(): Promise<Store> {
        return openStore({
          stateDir: fixture.stateDir,
          databaseUrl: fixture.databaseUrl,
          now: T0,
          randomBytes,
        });
      }

      /** What kurier publish freezes with a send: the real article's message, under this test's article id. */
      async function frozenEmail(articleId: string): Promise<unknown> {
        const picked = await buildAndPickArticle(
          { root, outDir: path.join(root, 'out'), stateDir: path.join(root, '.kurier') },
          undefined,
        );
        return { ...frozenMessageOf(picked.build.site, picked.article, picked.email), articleId };
      }

      async function status(store: Store, address: string) {
        return (await store.findSubscriber(address))?.status;
      }

      it('publish, a bounce and a complaint in the mailbox, kurier bounces: the next publish mails neither reader', async () => {
        await writeFile(
          path.join(root, 'subscribers.csv'),
          'email,name\nanna@example.org,Anna\nbert@example.org,Bert\ncora@example.org,Cora\ndora@example.org,Dora\n',
        );
        const publishEnv = { ...env, SMTP_URL: smtp.url };
        const first = await runKurier(root, ['publish'], publishEnv);
        expect(first.code, first.err).toBe(0);
        // What the receiving servers saw as return path: each copy its own signed address.
        const returnPaths = smtp.received.map((message) => message.from);
        expect(returnPaths).toHaveLength(4);
        for (const from of returnPaths) expect(from).toMatch(/^bounces\+[a-z2-7]+@kurier\.example$/);
        expect(new Set(returnPaths).size).toBe(4);
        const copyTo = (address: string) => {
          const copy = smtp.received.find((message) => message.to.includes(address));
          if (copy === undefined) throw new Error(`no copy to ${address}`);
          return copy;
        };
        const anna = copyTo('anna@example.org');
        const bert = copyTo('bert@example.org');
        const headersOf = (raw: Buffer) => raw.toString().split('\r\n\r\n')[0] as string;
        // The reports name the readers only through the return path the copy carried, as relays do when the
        // final address is an alias: the decision must come from the VERP token.
        await imap.append(
          'INBOX',
          dsn('dsn-1', anna.from, 'a.alias@mx.example.net', 'failed', headersOf(anna.raw)),
          arf('arf-1', bert.from, 'b.alias@fbl.example.net', headersOf(bert.raw)),
        );

        const bounced = await runKurier(root, ['bounces'], env);
        expect(bounced.code, bounced.err).toBe(0);
        expect(bounced.out).toContain('2 messages read: 2 decided (1 complaint, 1 hard)');
        expect(bounced.out).toMatch(/suppressed: a\.alias@mx\.example\.net \(reader \d+ of send 1\)/);
        expect(bounced.out).toMatch(/suppressed: b\.alias@fbl\.example\.net \(reader \d+ of send 1\)/);
        const handled = await imap.folderName(DEFAULT_FOLDERS.handled);
        expect((await imap.headerValues(handled, 'Message-ID')).sort()).toEqual([
          '<arf-1@fbl.example.net>',
          '<dsn-1@mx.example.net>',
        ]);

        const shown = await runKurier(root, ['status'], env);
        expect(shown.code, shown.err).toBe(0);
        expect(shown.out).toContain('List: 2 active, 0 pending, 0 unsubscribed, 1 bounced, 1 complained');
        expect(shown.out).toContain(
          'tag:kurier.example,2026:bochum-leben-nach-der-industrie: 4 sent; 1 bounced (25.00 %), 1 complaints (25.00 %)',
        );
        expect(shown.out).toMatch(
          /Latest bounces run \(.*, 2 messages\): suppressed (anna@example\.org \(bounced\), bert@example\.org \(complained\)|bert@example\.org \(complained\), anna@example\.org \(bounced\))\./,
        );

        await writeFile(
          path.join(root, 'content/posts/zweiter-brief.md'),
          [
            '---',
            'id: tag:kurier.example,2026:zweiter-brief',
            'title: Der zweite Brief',
            'slug: zweiter-brief',
            'date: 2026-11-30T08:00:00+01:00',
            'author: Rolevinck',
            'summary: Was nach dem ersten Brief geschah.',
            'draft: false',
            '---',
            '',
            'Neues aus dem Revier.',
            '',
          ].join('\n'),
        );
        smtp.received.length = 0;
        const next = await runKurier(root, ['publish'], publishEnv);
        expect(next.code, next.err).toBe(0);
        // subscribers.csv is imported again by this publish: it must not bring the two back either.
        expect(smtp.received.flatMap((message) => message.to).sort()).toEqual([
          'cora@example.org',
          'dora@example.org',
        ]);
        for (const message of await smtp.parsed()) expect(message.subject).toContain('Der zweite Brief');
      });

      it('runs inside kurier server when BOUNCE_IMAP_URL is set', async () => {
        const store = await openTestStore();
        await store.add({ address: 'anna@example.org', name: '', fields: {} }, 'test', T0);
        const { send } = await store.createSend({
          articleId: 'tag:kurier.example,2026:server',
          email: await frozenEmail('tag:kurier.example,2026:server'),
          frozenAt: T0,
        });
        await store.close();
        const original = newsletter(send.id, 0, 'anna@example.org');
        await imap.append(
          'INBOX',
          dsn('dsn-server', verp(send.id, 0), 'anna@example.org', 'failed', original),
        );
        const server = await startServer(root, { ...env, SMTP_URL: smtp.url });
        try {
          // The schedule's first run starts with the service; its report is part of the service's output.
          for (let waited = 0; !server.lines.some((line) => line.includes('suppressed:')); waited += 20) {
            if (waited > 20_000) throw new Error(`no bounces run seen:\n${server.lines.join('\n')}`);
            await new Promise((next) => setTimeout(next, 20));
          }
        } finally {
          expect(await server.stop()).toBe(0);
        }
        expect(server.lines).toContain(`  suppressed: anna@example.org (reader 0 of send ${send.id})`);
        const after = await openTestStore();
        try {
          expect(await status(after, 'anna@example.org')).toBe('bounced');
        } finally {
          await after.close();
        }
      });

      it('records every message exactly once when runs are killed at points of progress', async () => {
        const store = await openTestStore();
        const readers = Array.from(
          { length: 300 },
          (_, index) => `reader${String(index).padStart(3, '0')}@example.org`,
        );
        await store.importRows(
          readers.map((address) => ({ address, name: '', fields: {}, status: 'active' as const })),
          'test',
          T0,
        );
        const { send } = await store.createSend({
          articleId: 'tag:kurier.example,2026:kill',
          email: await frozenEmail('tag:kurier.example,2026:kill'),
          frozenAt: T0,
        });
        const batch = await store.claimBatch(send.id, { owner: 'test', limit: 300, now: T0 });
        await store.markStates(
          send.id,
          batch.map((r) => ({ index: r.index, state: 'sent' as const, at: T0 })),
        );
        await store.close();
        // Readers 0–199 bounce hard, 200–249 complain, 250–299 bounce soft twice: two soft bounces stay under
        // the policy's three, so one counted twice would show as a reader made bounced.
        const messages: Buffer[] = [];
        for (const r of batch) {
          const original = newsletter(send.id, r.index, r.email);
          const from = verp(send.id, r.index);
          if (r.index < 200) messages.push(dsn(`hard-${r.index}`, from, r.email, 'failed', original));
          else if (r.index < 250) messages.push(arf(`arf-${r.index}`, from, r.email, original));
          else {
            messages.push(dsn(`soft-a-${r.index}`, from, r.email, 'delayed', original));
            messages.push(dsn(`soft-b-${r.index}`, from, r.email, 'delayed', original));
          }
        }
        for (let start = 0; start < messages.length; start += 50)
          await imap.append('INBOX', ...messages.slice(start, start + 50));
        const handled = await imap.folderName(DEFAULT_FOLDERS.handled);
        const moved = async () => {
          const reply = await imap.command(`STATUS "${handled}" (MESSAGES)`).catch(() => '');
          return Number(/MESSAGES (\d+)/.exec(reply)?.[1] ?? 0);
        };

        let kills = 0;
        for (const [target, delayMs] of [
          [0, 300],
          [50, 40],
          [100, 0],
          [200, 120],
          [300, 10],
        ] as const) {
          const outcome = await runKurier(
            root,
            ['bounces'],
            env,
            async () => (await moved()) >= target,
            delayMs,
          );
          if (outcome.killed) kills++;
          else expect(outcome.code, outcome.err).toBe(0);
        }
        const final = await runKurier(root, ['bounces'], env);
        expect(final.code, final.err).toBe(0);
        expect(kills).toBeGreaterThan(1);

        expect(await moved()).toBe(messages.length);
        const ids = await imap.headerValues(handled, 'Message-ID');
        expect(new Set(ids).size).toBe(messages.length);
        const after = await openTestStore();
        try {
          const [counts] = await after.countBouncesPerSend();
          expect(counts).toMatchObject({ sent: 300, bounced: 200, complained: 50, softBounced: 50 });
          for (const r of batch) {
            const expected = r.index < 200 ? 'bounced' : r.index < 250 ? 'complained' : 'active';
            expect(await status(after, r.email), r.email).toBe(expected);
          }
          for (const id of ids) expect(await after.findBounceMessage(`message-id:${id}`), id).toBeDefined();
        } finally {
          await after.close();
        }
      });
    },
  );
}
