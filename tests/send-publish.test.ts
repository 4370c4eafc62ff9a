// `kurier publish` end to end: a temp project, a real SMTP server on 127.0.0.1, real processes killed halfway.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planVerpKeys } from '../src/bounces/keys.ts';
import { parseVerpToken } from '../src/bounces/verp.ts';
import { buildAndPickArticle } from '../src/build/pick.ts';
import { defaultPublishDeps } from '../src/commands/publish.ts';
import { statusCommand } from '../src/commands/status.ts';
import type { Env } from '../src/context.ts';
import { resolveRunContext } from '../src/environment.ts';
import { KurierError } from '../src/error.ts';
import { frozenMessageOf, messageIdOf } from '../src/send/message.ts';
import { createDatabase, dropDatabase } from '../src/store/postgres.ts';
import type { Store } from '../src/store/store.ts';
import {
  ARTICLE_ID,
  addresses,
  collectOutput,
  makePublishProject,
  publishContext,
  runPublishIn,
  withStore as withStoreIn,
  writeSubscribers as writeSubscribersIn,
} from './support/publish.ts';
import { lacks } from './support/requirements.ts';
import { postOneClick, startServer } from './support/server.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const SECRET = '8c1f0e4b9a7d2c6e5f3a1b0d9e8c7f6a5b4c3d2e1f0a9b8c';
const TITLE = 'Bochum zeigt: Es gibt ein Leben nach der Industrie';
const FAST = { ...defaultPublishDeps, retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 } };

let root: string;
let server: TestSmtpServer | undefined;
/** Set by the PostgreSQL runs: a fresh database for each test. */
let databaseUrl: string | undefined;
let database: string | undefined;

async function usePostgres(): Promise<void> {
  const base = process.env.KURIER_TEST_DATABASE_URL ?? '';
  database = `kurier_publish_${randomBytes(6).toString('hex')}`;
  databaseUrl = await createDatabase(base, database);
}

/** DATABASE_URL when the test runs on PostgreSQL; nothing (SQLite in the state folder) otherwise. */
function storeEnv(): Env {
  return databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl };
}

/** The store as publish left it, for the test's look; closed afterwards. */
function withStore<T>(use: (store: Store) => Promise<T>, stateDir = path.join(root, '.kurier')): Promise<T> {
  return withStoreIn(stateDir, databaseUrl, use);
}

beforeEach(async () => {
  root = await makePublishProject('kurier-publish-');
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (database !== undefined) await dropDatabase(process.env.KURIER_TEST_DATABASE_URL ?? '', database);
  database = undefined;
  databaseUrl = undefined;
  await rm(root, { recursive: true, force: true });
});

function writeSubscribers(rows: readonly string[]): Promise<void> {
  return writeSubscribersIn(root, rows);
}

/** What `kurier status` prints now. */
async function printStatus(): Promise<string> {
  const status = collectOutput();
  await statusCommand.run({}, [], await resolveRunContext(publishContext(root, storeEnv(), status.io), {}));
  return status.out.join('\n');
}

function smtpEnv(extra: Env = {}): Env {
  if (server === undefined) throw new Error('no server');
  return { SMTP_URL: server.url, KURIER_SECRET: SECRET, ...storeEnv(), ...extra };
}

async function publish(
  values: Record<string, string | boolean> = {},
  env = smtpEnv(),
  positionals: string[] = [],
) {
  const output = collectOutput();
  const code = await runPublishIn(root, output.io, values, env, positionals, FAST);
  return { code, out: output.out, err: output.err };
}

async function publishError(
  values: Record<string, string | boolean> = {},
  env = smtpEnv(),
): Promise<KurierError> {
  const error = await publish(values, env).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof KurierError)) throw new Error(`expected a KurierError, got ${String(error)}`);
  return error;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

/** `kurier publish` as its own process (through the real CLI entry), once `started` messages arrived. */
async function startPublishProcess(started: number): Promise<{
  process: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}> {
  if (server === undefined) throw new Error('no server');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src', 'kurier.ts'), 'publish'], {
    cwd: REPO,
    env: { ...process.env, KURIER_ROOT: root, SMTP_URL: server.url, KURIER_SECRET: SECRET, ...storeEnv() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 30_000;
  while (server.received.length < started) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the send did not get going:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { process: child, exited, output: () => output };
}

function header(message: Awaited<ReturnType<TestSmtpServer['parsed']>>[number], name: string): string {
  return message.headerLines.find((line) => line.key === name)?.line ?? '';
}

/** SIGKILL mid-send, then a resume: nobody missing, duplicates only of messages in flight, each the same copy. */
async function killAndResume(): Promise<void> {
  await killAndResumeOn({});
}

/** `resume`: the options of the resuming run (another state folder: another machine on one database). */
async function killAndResumeOn(resume: Record<string, string>): Promise<void> {
  server = await startSmtpServer({ delayMs: 4 });
  const everyone = addresses(150);
  await writeSubscribers(everyone);
  const child = await startPublishProcess(40);
  child.process.kill('SIGKILL');
  expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
  expect(server.received.length).toBeLessThan(150);

  const second = await publish(resume);
  expect(second.code).toBe(0);
  const copies = new Map<string, Set<string>>();
  for (const message of await server.parsed()) {
    const to =
      message.to === undefined || Array.isArray(message.to) ? '' : (message.to.value[0]?.address ?? '');
    copies.set(to, (copies.get(to) ?? new Set()).add(message.messageId ?? ''));
  }
  expect([...copies.keys()].sort()).toEqual([...everyone].sort());
  // Any reader who got two copies got the same Message-ID twice: one message to their client.
  for (const ids of copies.values()) expect(ids.size).toBe(1);
  // And the same bytes: a resent copy is the copy that may have arrived before.
  const raws = new Map<string, Set<string>>();
  for (const message of server.received) {
    const to = message.to[0] ?? '';
    raws.set(to, (raws.get(to) ?? new Set()).add(message.raw.toString('base64')));
  }
  for (const copiesOfOne of raws.values()) expect(copiesOfOne.size).toBe(1);
  // At most the messages in hand at the kill: two per connection (one on the wire, one journaled next),
  // any of which may have arrived before its "sent" record reached the disk.
  expect(server.received.length - 150).toBeLessThanOrEqual(10);
}

/** SIGTERM mid-send: what is in flight finishes, nothing stays in doubt, the next run sends the rest once. */
async function stopAndResume(): Promise<void> {
  server = await startSmtpServer({ delayMs: 4 });
  const everyone = addresses(150);
  await writeSubscribers(everyone);
  const child = await startPublishProcess(30);
  child.process.kill('SIGTERM');
  expect(await child.exited).toEqual({ code: 1, signal: null });
  expect(child.output()).toContain('Stopped. Run kurier publish again to continue where it stopped.');
  const status = await printStatus();
  // Nothing in doubt after a clean stop, and no lock left behind.
  expect(status).toMatch(/unknown 0, skipped 0, pending \d+/);
  expect(status).not.toContain('right now');

  expect((await publish()).code).toBe(0);
  const received = server.received.flatMap((message) => message.to);
  expect(received.sort()).toEqual([...everyone].sort());
}

/** Two runs of one article at once: the second is refused while the first sends, and the first sends to all. */
async function refusesSecondRun(whileLocked: () => Promise<void> = async () => {}): Promise<void> {
  server = await startSmtpServer({ delayMs: 30 });
  // Enough readers that the first run is still sending while the second and status each open the store
  // (on SQLite that starts its thread: most of a second on a loaded machine).
  await writeSubscribers(addresses(80));
  let settled = false;
  const first = publish({ connections: '1' }).finally(() => {
    settled = true;
  });
  while (server.received.length < 2 && !settled) await new Promise((resolve) => setTimeout(resolve, 5));
  const error = await publishError();
  expect(error.code).toBe('SEND_LOCKED');
  expect(error.message).toMatch(/is being sent by process \d+/);
  await whileLocked();
  expect((await first).code).toBe(0);
  expect(server.received).toHaveLength(80);
}

describe('kurier publish', () => {
  it('sends each subscriber exactly one copy with every header, and nothing on a second run', async () => {
    server = await startSmtpServer();
    await writeSubscribers([
      'anna@example.com,Anna Müller',
      'ben@bücher.example,Ben',
      'ANNA@Example.com,Anna again',
      'not-an-address,Nobody',
      ...addresses(10).map((email) => `${email},`),
    ]);
    const first = await publish();
    expect(first.code).toBe(0);
    expect(first.err).toContain('subscribers.csv:5  "not-an-address" is not an email address');
    // smtp-server shows the punycode domain of RCPT TO decoded again.
    const received = server.received.flatMap((message) => message.to).sort();
    expect(received).toEqual(['anna@example.com', 'ben@bücher.example', ...addresses(10)].sort());
    expect(new Set(server.received.map((m) => m.from))).toEqual(new Set(['newsletter@kurier.example']));

    const parsed = await server.parsed();
    const anna = parsed.find((message) => header(message, 'to').includes('anna@example.com'));
    if (anna === undefined) throw new Error('no message to anna');
    expect(anna.subject).toBe(TITLE);
    expect(header(anna, 'from')).toBe('From: "Kurier" <newsletter@kurier.example>');
    expect(header(anna, 'reply-to')).toBe('Reply-To: redaktion@kurier.example');
    expect(anna.to).toMatchObject({ value: [{ address: 'anna@example.com', name: 'Anna Müller' }] });
    expect(anna.messageId).toBe(messageIdOf(ARTICLE_ID, 'anna@example.com', 'kurier.example'));
    expect(anna.date?.toISOString()).toBe('2026-11-26T08:00:00.000Z');
    expect(header(anna, 'list-id')).toBe('List-Id: Kurier <newsletter.kurier.example>');
    const token = createHmac('sha256', SECRET).update('anna@example.com').digest('base64url');
    expect(header(anna, 'list-unsubscribe').replace(/\r\n /g, ' ')).toBe(
      `List-Unsubscribe: <https://kurier.example/abmelden?token=${token}>, <mailto:abmelden@kurier.example?subject=unsubscribe>`,
    );
    expect(header(anna, 'list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(anna.text).toContain('Hallo Anna Müller');
    // The unsubscribe link in the body is this reader's own.
    expect(anna.text).toContain(`https://kurier.example/abmelden?token=${token}`);
    expect(anna.html).toContain(token);
    const ben = parsed.find((message) => header(message, 'to').includes('ben@'));
    expect(ben === undefined ? '' : header(ben, 'to')).toBe('To: "Ben" <ben@xn--bcher-kva.example>');
    const ids = new Set(parsed.map((message) => message.messageId));
    expect(ids.size).toBe(12);

    const second = await publish();
    expect(second.code).toBe(0);
    expect(server.received).toHaveLength(12);
    expect(second.out.join('\n')).toContain('to 0 of 12 recipients (12 already have it)');
  });

  it('records 550 as rejected, suppresses the hard bounce, exits non-zero, and retries 451s', async () => {
    server = await startSmtpServer({
      rcpt: (address, attempt) => {
        if (address === 'reader3@example.com') return { code: 550, message: '5.1.1 No such user' };
        if (address === 'reader6@example.com') return { code: 550, message: '5.7.1 Policy rejection' };
        const index = Number(/\d+/.exec(address)?.[0]);
        return index % 5 === 4 && attempt === 1 ? { code: 451, message: '4.3.0 Try again later' } : undefined;
      },
    });
    await writeSubscribers(addresses(15));
    const first = await publish();
    expect(first.code).toBe(1);
    expect(first.out.join('\n')).toContain('Sent 13, rejected 2, deferred 0');
    expect(first.err).toContain('  rejected reader3@example.com: 550 5.1.1 No such user');
    expect(new Set(server.received.flatMap((m) => m.to)).size).toBe(13);
    await withStore(async (store) => {
      expect(await store.isSuppressed('reader3@example.com')).toBe(true);
      expect((await store.findSubscriber('reader3@example.com'))?.status).toBe('bounced');
      expect(await store.isSuppressed('reader6@example.com')).toBe(false);
    });

    const status = await printStatus();
    expect(status).toContain('sent 13, rejected 2, deferred 0, unknown 0, skipped 0, pending 0');
    expect(status.split('\n')[0]).toBe(
      'List: 14 active, 0 pending, 0 unsubscribed, 1 bounced, 0 complained; 1 on the suppression list.',
    );

    // The same list again is not read again (its hash is in the store)…
    server.received.length = 0;
    const unchanged = await publish({ 'dry-run': true });
    expect(unchanged.out).toContain('subscribers.csv: unchanged since its last import, not imported again.');
    // …a changed one is, and a later article's list leaves the bounced address out: the import does not
    // bring it back.
    await writeSubscribers([...addresses(15), 'new@example.com']);
    const again = await publish({ 'dry-run': true });
    expect(again.out.join('\n')).toContain('subscribers.csv: 1 new');
    expect(again.out.join('\n')).toContain('1 unsubscribed, bounced or suppressed');
    await withStore(async (store) => {
      const { send } = await store.createSend({ articleId: 'tag:later', email: {}, frozenAt: new Date() });
      expect(send.total).toBe(15);
      const frozen = await store.readRecipients(send.id, 0, 100);
      expect(frozen.map((row) => row.email)).not.toContain('reader3@example.com');
    });
  });

  it('stops with a clear error before any message is sent when the login fails', async () => {
    server = await startSmtpServer({ auth: { user: 'kurier', pass: 'right' } });
    await writeSubscribers(addresses(3));
    const url = new URL(server.url);
    url.password = 'wrong';
    const error = await publishError({}, smtpEnv({ SMTP_URL: url.toString() }));
    expect(error.code).toBe('SMTP_AUTH');
    expect(error.message).toMatch(/refused the login .*535.*check user and password in SMTP_URL/);
    expect(server.received).toHaveLength(0);
    // The list was not frozen: fixing the password and the list takes effect on the next run.
    expect(await withStore((store) => store.listSends())).toEqual([]);

    const ok = await publish();
    expect(ok.code).toBe(0);
    expect(server.received).toHaveLength(3);
  });

  it('refuses real sending without KURIER_SECRET, but rehearses without it', async () => {
    server = await startSmtpServer();
    await writeSubscribers(addresses(2));
    const error = await publishError({}, { SMTP_URL: server.url });
    expect(error.code).toBe('SECRET_MISSING');
    const dry = await publish({ 'dry-run': true }, { SMTP_URL: server.url });
    expect(dry.code).toBe(0);
    expect(dry.out.join('\n')).toContain('Rendered (not sent) 2');
    expect(server.received).toHaveLength(0);
  });

  it('reads SMTP_URL and KURIER_SECRET from .env, the environment winning, and KURIER_STATE_DIR', async () => {
    server = await startSmtpServer();
    await writeSubscribers(addresses(2));
    await writeFile(
      path.join(root, '.env'),
      `# local settings\nSMTP_URL=smtp://127.0.0.1:1\nKURIER_SECRET="${SECRET}"\nKURIER_STATE_DIR=private\n`,
    );
    const { code } = await publish({}, { SMTP_URL: server.url });
    expect(code).toBe(0);
    expect(server.received).toHaveLength(2);
    if (databaseUrl === undefined)
      expect(await readdir(path.join(root, 'private'))).toEqual(expect.arrayContaining(['kurier.db']));
    expect(
      await withStore((store) => store.listSends(), path.join(root, 'private')).then((sends) => sends.length),
    ).toBe(1);
  });

  it('stops with --strict on an invalid row, naming its line, and freezes nothing', async () => {
    server = await startSmtpServer();
    await writeSubscribers(['a@example.com,A', 'b@example,B', 'c@example.com,C']);
    const error = await publishError({ strict: true });
    expect(error).toMatchObject({ code: 'SUBSCRIBER_INVALID', file: 'subscribers.csv', line: 3 });
    expect(server.received).toHaveLength(0);
    await withStore(async (store) => {
      expect(await store.listSends()).toEqual([]);
      expect((await store.counts()).active).toBe(0);
    });
  });

  it('lets no header in through a subscriber name', async () => {
    server = await startSmtpServer();
    await writeFile(path.join(root, 'subscribers.csv'), 'email,name\neve@example.com,"Eve\r\nBcc: x@y"\n');
    expect((await publish()).code).toBe(0);
    const [message] = await server.parsed();
    expect(server.received[0]?.to).toEqual(['eve@example.com']);
    expect(message?.bcc).toBeUndefined();
    expect(message?.headerLines.filter((line) => line.key === 'bcc')).toEqual([]);
    expect(header(message as NonNullable<typeof message>, 'to')).toBe('To: "Eve Bcc: x@y" <eve@example.com>');
  });

  it('refuses a second run of the same article while the first is sending, and status names the holder', () =>
    refusesSecondRun(async () => expect(await printStatus()).toMatch(/being sent right now by process \d+/)));

  it(
    'resumes after the send process is killed with SIGKILL: nobody missing, a duplicate has the same Message-ID and bytes',
    killAndResume,
  );

  it(
    'stops cleanly on SIGTERM (what is in flight finishes, exit 1) and the next run sends the rest once',
    stopAndResume,
  );

  it('resends an unknown outcome with the same Message-ID by default, or leaves it with --unknown skip', async () => {
    server = await startSmtpServer();
    await writeSubscribers(addresses(3));
    expect((await publish()).code).toBe(0);
    // As if a run died with reader1's message on the wire.
    await withStore(async (store) => {
      const [send] = await store.listSends();
      if (send === undefined) throw new Error('no send');
      await store.markStates(send.id, [{ index: 1, state: 'attempting', at: new Date() }]);
    });
    const skipped = await publish({ unknown: 'skip' });
    expect(skipped.err.join('\n')).toContain('1 recipient(s) have an unknown outcome and are left alone');
    expect(server.received).toHaveLength(3);
    const resent = await publish();
    expect(resent.code).toBe(0);
    expect(server.received).toHaveLength(4);
    const parsed = await server.parsed();
    const toReader1 = parsed.filter((message) => header(message, 'to').includes('reader1@'));
    expect(toReader1.map((message) => message.messageId)).toEqual([
      messageIdOf(ARTICLE_ID, 'reader1@example.com', 'kurier.example'),
      messageIdOf(ARTICLE_ID, 'reader1@example.com', 'kurier.example'),
    ]);
  });

  it('continues a send begun by the file-based version: its frozen message, the unknown resent, the suppressed left out', async () => {
    server = await startSmtpServer();
    const build = await buildAndPickArticle(
      { root, outDir: path.join(root, 'out'), stateDir: path.join(root, 'scratch') },
      undefined,
    );
    const frozen = frozenMessageOf(build.build.site, build.article, build.email);
    const old = path.join(root, '.kurier', 'sends', '7d4c0a3e9b1f2a6c');
    await mkdir(old, { recursive: true });
    const frozenAt = '2026-11-25T18:00:00.000Z';
    await writeFile(
      path.join(old, 'send.json'),
      JSON.stringify({
        version: 1,
        articleId: ARTICLE_ID,
        slug: frozen.slug,
        title: frozen.title,
        frozenAt,
        total: 5,
        subscribers: 'subscribers.csv',
        list: { rows: 5, invalid: 0, duplicates: 0, inactive: 0, suppressed: 0 },
      }),
    );
    await writeFile(
      path.join(old, 'message.json'),
      `${JSON.stringify({ ...frozen, compiled: { ...frozen.compiled, subject: 'Wie es damals eingefroren wurde' } })}\n`,
    );
    await writeFile(
      path.join(old, 'recipients.jsonl'),
      addresses(5)
        .map((email) => `${JSON.stringify({ email, name: '', fields: {} })}\n`)
        .join(''),
    );
    // reader0 and reader1 have it, reader2's message was on the wire when the old run died (a torn line after).
    await writeFile(
      path.join(old, 'journal.jsonl'),
      '{"i":0,"s":"attempting","t":1}\n{"i":0,"s":"sent","t":2}\n{"i":1,"s":"sent","t":3}\n{"i":2,"s":"attempting","t":4}\n{"i":3,"s":"att',
    );
    await writeFile(path.join(root, '.kurier', 'suppressed.jsonl'), 'reader4@example.com');
    const run = await publish();
    expect(run.code).toBe(0);
    expect(run.err.join('\n')).toContain('Imported the state folder into the subscriber store');
    expect(run.err.join('\n')).toContain('1 recipient(s) have an unknown outcome');
    const parsed = await server.parsed();
    expect(parsed.map((message) => header(message, 'to')).sort()).toEqual([
      'To: reader2@example.com',
      'To: reader3@example.com',
    ]);
    for (const message of parsed) {
      expect(message.subject).toBe('Wie es damals eingefroren wurde');
      expect(message.date?.toISOString()).toBe(frozenAt);
    }
    const toReader2 = parsed.find((message) => header(message, 'to').includes('reader2@'));
    expect(toReader2?.messageId).toBe(messageIdOf(ARTICLE_ID, 'reader2@example.com', 'kurier.example'));
    const status = await printStatus();
    expect(status).toContain('sent 4, rejected 0, deferred 0, unknown 0, skipped 1, pending 0');
    // Once: the next run imports nothing again and sends nobody.
    expect((await publish()).err.join('\n')).not.toContain('Imported the state folder');
    expect(server.received).toHaveLength(2);
  });

  it('links List-Unsubscribe to kurier server (one-click works there) and sends from a signed VERP address', async () => {
    const settings = path.join(root, 'content', 'site.yaml');
    const yaml = await readFile(settings, 'utf8');
    await writeFile(
      settings,
      yaml
        .replace(
          '  unsubscribeUrl: https://kurier.example/abmelden',
          '  unsubscribeUrl: https://kurier.example/abmelden\n  bounceAddress: bounces@kurier.example',
        )
        .concat(
          '\nsubscriptions:\n  url: https://kurier.example/newsletter/\n  privacyUrl: https://kurier.example/datenschutz/\n  consent: Ja, schickt mir den Newsletter.\n',
        ),
    );
    server = await startSmtpServer();
    await writeSubscribers(addresses(3));
    expect((await publish()).code).toBe(0);
    const parsed = await server.parsed();
    expect(parsed).toHaveLength(3);
    const send = await withStore(async (store) => (await store.listSends())[0]);
    if (send === undefined) throw new Error('no send');
    const keys = planVerpKeys([SECRET]);
    for (const [position, message] of parsed.entries()) {
      const to = header(message, 'to').replace('To: ', '');
      const unsubscribe = header(message, 'list-unsubscribe');
      const link = /<(https:[^>]+)>/.exec(unsubscribe)?.[1] ?? '';
      expect(link).toMatch(/^https:\/\/kurier\.example\/newsletter\/unsubscribe\?token=[\w-]+$/);
      expect(link).not.toContain(encodeURIComponent(to));
      // The footer link, as Handlebars escapes an attribute ("=" as &#x3D;, which the browser reads back).
      expect(message.html).toContain(`href="${link.replace('=', '&#x3D;')}"`);
      expect(header(message, 'list-unsubscribe-post')).toBe(
        'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
      );
      // MAIL FROM names the send and the reader's place in it, signed with KURIER_SECRET.
      const from = server.received[position]?.from ?? '';
      const token = /^bounces\+([a-z2-7]+)@kurier\.example$/.exec(from)?.[1] ?? '';
      const ref = parseVerpToken(token, 'bounce', keys);
      expect(ref?.sendId).toBe(send.id);
      expect(addresses(3)[ref?.reader ?? -1]).toBe(to);
      expect(
        parseVerpToken(token, 'bounce', planVerpKeys(['another secret of 32 characters, at least'])),
      ).toBeUndefined();
    }

    // The one-click POST as Gmail makes it, from the received header, against the real service.
    const running = await startServer(root, { KURIER_SECRET: SECRET, ...storeEnv() });
    try {
      const toReader1 = parsed.find((message) => header(message, 'to').includes('reader1@'));
      const link =
        /<(https:[^>]+)>/.exec(header(toReader1 as NonNullable<typeof toReader1>, 'list-unsubscribe'))?.[1] ??
        '';
      const local = link.replace('https://kurier.example/newsletter', running.url);
      const response = await postOneClick(local);
      expect(response.status).toBe(200);
    } finally {
      await running.stop();
    }
    await withStore(async (store) => {
      expect((await store.findSubscriber('reader1@example.com'))?.status).toBe('unsubscribed');
      expect((await store.findSubscriber('reader0@example.com'))?.status).toBe('active');
    });
  });

  it('signs with DKIM, covering List-Unsubscribe and List-Unsubscribe-Post', async () => {
    server = await startSmtpServer();
    await writeSubscribers(addresses(1));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await writeFile(path.join(root, 'dkim.pem'), pem);
    const env = smtpEnv({
      DKIM_PRIVATE_KEY_FILE: 'dkim.pem',
      DKIM_SELECTOR: 'k1',
      DKIM_DOMAIN: 'kurier.example',
    });
    expect((await publish({}, env)).code).toBe(0);
    const raw = server.received[0]?.raw.toString('utf8') ?? '';
    const signature = /^DKIM-Signature:[\s\S]*?(?=\r\n\S)/m.exec(raw)?.[0].replace(/\r\n\s+/g, ' ') ?? '';
    expect(signature).toContain('d=kurier.example');
    expect(signature).toContain('s=k1');
    const signed = /\bh=([^;]+)/.exec(signature)?.[1]?.toLowerCase().split(':') ?? [];
    expect(signed).toEqual(
      expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post', 'from', 'subject']),
    );
    // The rest of the message went out byte for byte.
    expect(raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n');
  });

  it('sends one test copy with --to and records nothing', async () => {
    server = await startSmtpServer();
    await writeSubscribers(addresses(5));
    const test = await publish({ to: 'editor@example.com' });
    expect(test.code).toBe(0);
    expect(server.received.map((m) => m.to)).toEqual([['editor@example.com']]);
    expect(await withStore((store) => store.listSends())).toEqual([]);
  });

  it('writes .eml files into the outbox without SMTP_URL, and a dry run writes nothing', async () => {
    await writeSubscribers(addresses(4));
    const dry = await publish({ 'dry-run': true }, {});
    expect(dry.code).toBe(0);
    await expect(readdir(path.join(root, '.kurier', 'outbox'))).rejects.toThrow();
    const outbox = await publish({}, {});
    expect(outbox.code).toBe(0);
    const dir = path.join(root, '.kurier', 'outbox', 'bochum-leben-nach-der-industrie');
    expect(await readdir(dir)).toEqual(['0000000.eml', '0000001.eml', '0000002.eml', '0000003.eml']);
    const eml = await readFile(path.join(dir, '0000002.eml'), 'utf8');
    expect(eml).toContain('To: reader2@example.com\r\n');
    expect(eml).toContain('token=NO-SECRET');
    // A rehearsal fixes no list and records no send.
    expect(await withStore((store) => store.listSends())).toEqual([]);
  });

  it('never puts a subscriber address, the journal or a secret under out/', async () => {
    server = await startSmtpServer({
      rcpt: (a) => (a === 'reader1@example.com' ? { code: 550, message: '5.1.1 Gone' } : undefined),
    });
    const everyone = ['privat.person@example.org', ...addresses(3)];
    await writeSubscribers(everyone);
    expect((await publish()).code).toBe(1);
    const files = await filesUnder(path.join(root, 'out'));
    expect(files.length).toBeGreaterThan(3);
    const token = createHmac('sha256', SECRET).update('privat.person@example.org').digest('base64url');
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      for (const needle of [...everyone, SECRET, token, '"s":"sent"', 'journal']) {
        expect(text.includes(needle), `${path.relative(root, file)} contains ${needle}`).toBe(false);
      }
    }
    const error = await publishError({ state: 'out/state' });
    expect(error.code).toBe('OUT_DIR_UNSAFE');
  });
});

describe.skipIf(lacks('postgres'))('kurier publish on PostgreSQL (DATABASE_URL)', () => {
  beforeEach(usePostgres);

  it('resumes after a SIGKILL: nobody missing, a duplicate has the same Message-ID and bytes', killAndResume);

  it('stops cleanly on SIGTERM and the next run sends the rest once', stopAndResume);

  it('resumes a killed send on another machine (another state folder, the same database)', async () => {
    await killAndResumeOn({ state: 'elsewhere' });
    const elsewhere = await readdir(path.join(root, 'elsewhere'));
    expect(elsewhere).not.toContain('kurier.db');
  });

  it('refuses a second run of the same article while the first is sending', () => refusesSecondRun());
});
