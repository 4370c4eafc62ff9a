// Issue 7, send side: each defect and weak spot of the hostile campaign, replayed against a real SMTP server.

import { createHmac } from 'node:crypto';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAddress } from '../src/address.ts';
import { buildAndPickArticle } from '../src/build/pick.ts';
import { main } from '../src/cli.ts';
import { defaultPublishDeps } from '../src/commands/publish.ts';
import type { Env } from '../src/context.ts';
import { KurierError } from '../src/error.ts';
import { readSendEnv, secretProblem } from '../src/send/env.ts';
import { frozenMessageOf, messageIdOf, prepareMessageMaker } from '../src/send/message.ts';
import { readSubscribers } from '../src/send/subscribers.ts';
import { classifySmtpFailure, heloName, parseAnnouncedSize } from '../src/send/transport.ts';
import type { Store } from '../src/store/store.ts';
import {
  ARTICLE_ID,
  addresses,
  collectOutput,
  makePublishProject,
  runPublishIn,
  withStore as withStoreIn,
  writeSubscribers as writeSubscribersIn,
} from './support/publish.ts';
import { type ParsedMail, parseMessage, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const SECRET = '5d2b8f0e7a1c9d3e6b4a2f8c0e1d7b9a3c5e8f1a';
const ARTICLE = path.join('content', 'posts', 'bochum-leben-nach-der-industrie.md');
const FAST = { ...defaultPublishDeps, retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 } };

let root: string;
let server: TestSmtpServer | undefined;

beforeEach(async () => {
  root = await makePublishProject('kurier-hardening-');
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(root, { recursive: true, force: true });
});

/** The store as publish left it (SQLite in the state folder), for the test's look. */
function withStore<T>(use: (store: Store) => Promise<T>): Promise<T> {
  return withStoreIn(path.join(root, '.kurier'), undefined, use);
}

function writeSubscribers(rows: readonly string[], header?: string): Promise<void> {
  return writeSubscribersIn(root, rows, header);
}

function smtpEnv(extra: Env = {}): Env {
  if (server === undefined) throw new Error('no server');
  return { SMTP_URL: server.url, KURIER_SECRET: SECRET, ...extra };
}

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  readonly error: KurierError | undefined;
}

/** `kurier publish` through the CLI's own resolution of .env and paths; an expected error is returned. */
async function publish(values: Record<string, string | boolean> = {}, env = smtpEnv()): Promise<Run> {
  const { io, out, err } = collectOutput();
  try {
    const code = await runPublishIn(root, io, values, env, [], FAST);
    return { code, out: out.join('\n'), err: err.join('\n'), error: undefined };
  } catch (error) {
    if (!(error instanceof KurierError)) throw error;
    return { code: 1, out: out.join('\n'), err: err.join('\n'), error };
  }
}

/** Through `main`, as a user runs it: exit code and the printed lines. */
async function cli(argv: string[], env: Env): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(argv, {
    root,
    env,
    io: { out: () => {}, err: (l) => err.push(l), status: () => {}, isTTY: false },
    now: () => new Date('2026-11-26T08:00:00Z'),
    signal: new AbortController().signal,
  });
  return { code, err: err.join('\n') };
}

function recipientsReceived(): string[] {
  return (server?.received ?? []).flatMap((message) => message.to);
}

function toOf(message: ParsedMail): string {
  return message.to === undefined || Array.isArray(message.to) ? '' : (message.to.value[0]?.address ?? '');
}

describe('defect 1: a suppression list (of the file-based version) without its last newline', () => {
  it('never mails the last address, and keeps the line as the person wrote it', async () => {
    server = await startSmtpServer();
    await writeSubscribers(['r1@example.org,', 'r2@example.org,', 'r3@example.org,']);
    await mkdir(path.join(root, '.kurier'));
    const file = path.join(root, '.kurier', 'suppressed.jsonl');
    await writeFile(file, 'r1@example.org\nr2@example.org');
    for (let run = 0; run < 2; run += 1) {
      const result = await publish();
      expect(result.code).toBe(0);
      expect(recipientsReceived()).toEqual(['r3@example.org']);
      expect(await readFile(file, 'utf8')).toBe('r1@example.org\nr2@example.org');
    }
  });

  it('stops at a line that is not an address, naming file and line, before anything is sent', async () => {
    server = await startSmtpServer();
    await writeSubscribers(addresses(3));
    await mkdir(path.join(root, '.kurier'));
    await writeFile(
      path.join(root, '.kurier', 'suppressed.jsonl'),
      'reader1@example.com\nreader2 example.com',
    );
    const result = await cli(['publish'], smtpEnv());
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/suppressed\.jsonl:2 {2}SUPPRESSION_INVALID {2}/);
    expect(server.received).toHaveLength(0);
  });

  it('imports the unterminated last line, never rewrites the file, and records a hard bounce in the store', async () => {
    server = await startSmtpServer({
      rcpt: (address) =>
        address === 'reader1@example.com' ? { code: 550, message: '5.1.1 No such user' } : undefined,
    });
    await writeSubscribers(addresses(3));
    await mkdir(path.join(root, '.kurier'));
    const file = path.join(root, '.kurier', 'suppressed.jsonl');
    await writeFile(file, '# by hand\nsomeone@example.org');
    expect((await publish()).code).toBe(1);
    expect(await readFile(file, 'utf8')).toBe('# by hand\nsomeone@example.org');
    await withStore(async (store) => {
      expect(await store.isSuppressed('someone@example.org')).toBe(true);
      expect(await store.isSuppressed('reader1@example.com')).toBe(true);
      expect((await store.findSubscriber('reader1@example.com'))?.status).toBe('bounced');
    });
  });
});

describe('defect 2: a message the server refuses for everyone', () => {
  it('checks the announced SIZE before the first message, sends nobody, and resumes once the limit is raised', async () => {
    server = await startSmtpServer({ size: 2_000 });
    await writeSubscribers(addresses(200));
    for (let run = 0; run < 2; run += 1) {
      const result = await publish();
      expect(result.error?.code).toBe('SMTP_MESSAGE_REFUSED');
      expect(result.error?.message).toMatch(
        /SIZE 2,000: the message has [\d,]+ bytes.*larger than the server takes/,
      );
      expect(server.received).toHaveLength(0);
    }
    // Nothing frozen: a shortened article would be sent as it is then.
    expect(await withStore((store) => store.listSends())).toEqual([]);
    await server.close();
    server = await startSmtpServer();
    const resumed = await publish();
    expect(resumed.code).toBe(0);
    expect(new Set(recipientsReceived()).size).toBe(200);
    expect(server.received).toHaveLength(200);
  });

  it('halts on "552 5.3.4" of a server that announces no SIZE, leaving every reader pending', async () => {
    server = await startSmtpServer({ size: 2_000, hideSize: true });
    await writeSubscribers(addresses(40));
    const first = await publish({ connections: '1' });
    expect(first.error?.code).toBe('SMTP_MESSAGE_REFUSED');
    expect(first.error?.message).toContain('552 5.3.4');
    expect(first.out).toContain('rejected 0');
    const counts = await withStore(async (store) => {
      const [send] = await store.listSends();
      if (send === undefined) throw new Error('no send');
      return store.countStates(send.id);
    });
    expect(counts.pending + counts.deferred).toBe(40);
    await server.close();
    server = await startSmtpServer();
    expect((await publish()).code).toBe(0);
    expect(recipientsReceived().sort()).toEqual(addresses(40).sort());
  });

  it('takes the same refusal for ten readers in a row as the message’s, and holds them back', async () => {
    let refusing = true;
    server = await startSmtpServer({
      rcpt: () => (refusing ? { code: 554, message: '5.7.1 Sender not allowed to relay' } : undefined),
    });
    await writeSubscribers(addresses(30));
    const first = await publish({ connections: '1' });
    expect(first.error?.code).toBe('SMTP_MESSAGE_REFUSED');
    expect(first.error?.message).toContain('the same reply');
    expect(first.out).toContain('rejected 0');
    refusing = false;
    expect((await publish()).code).toBe(0);
    expect(recipientsReceived().sort()).toEqual(addresses(30).sort());
  });

  it('classifies replies about the message apart from replies about one reader', () => {
    const failure = (responseCode: number, response: string, command: string) =>
      classifySmtpFailure({ responseCode, response, command, code: 'EMESSAGE', message: response });
    expect(failure(552, '552 5.3.4 Message too big', 'DATA')).toMatchObject({ kind: 'halt', reason: 'size' });
    expect(failure(552, '552 Message size exceeds limit', 'DATA')).toMatchObject({
      kind: 'halt',
      reason: 'size',
    });
    expect(failure(554, '554 5.6.0 Bad content', 'DATA')).toMatchObject({ kind: 'halt', reason: 'content' });
    expect(failure(550, '550 5.7.1 Message rejected as spam', 'DATA')).toMatchObject({
      kind: 'halt',
      reason: 'content',
    });
    expect(failure(550, '550 5.7.1 Recipient refuses', 'RCPT TO')).toMatchObject({ kind: 'rejected' });
    expect(failure(552, '552 5.2.2 Mailbox full', 'RCPT TO')).toMatchObject({
      kind: 'rejected',
      hardBounce: false,
    });
    expect(parseAnnouncedSize('250-vm hello\n250-PIPELINING\n250 SIZE 1000')).toBe(1000);
    expect(parseAnnouncedSize('250-vm hello\n250 SIZE')).toBeUndefined();
  });
});

describe('defect 5: a send is frozen', () => {
  it('resumes an edited article with the text it froze, says so, and --new-send sends the new text', async () => {
    let stopAt = 5;
    server = await startSmtpServer({
      rcpt: (address, attempt) => {
        const index = Number(/\d+/.exec(address)?.[0]);
        // Every attempt: nodemailer's pool retries a 421 on a fresh connection by itself.
        return index >= stopAt && attempt > 0 ? { code: 421, message: '4.3.2 Going down' } : undefined;
      },
    });
    await writeSubscribers(addresses(12));
    const first = await publish({ connections: '1' });
    expect(first.error?.code).toBe('SMTP_CONNECTION');
    expect(server.received.length).toBeLessThan(12);
    const articleFile = path.join(root, ARTICLE);
    const text = await readFile(articleFile, 'utf8');
    await writeFile(articleFile, text.replace('Es gibt Städte', 'NEUER TEXT: Es gibt Städte'));
    stopAt = 1_000;
    const resumed = await publish({ connections: '1' });
    expect(resumed.code).toBe(0);
    expect(resumed.err).toContain('changed since this send began');
    expect(resumed.err).toContain('--new-send');
    const messages = await server.parsed();
    expect(messages).toHaveLength(12);
    // Every copy the same, but for what belongs to its reader.
    const shared = new Set(
      messages.map((message) => {
        const to = toOf(message);
        const token = createHmac('sha256', SECRET).update(to).digest('base64url');
        expect(message.messageId).toBe(messageIdOf(ARTICLE_ID, to, 'kurier.example'));
        return JSON.stringify([message.subject, message.date, message.html, message.text]).replaceAll(
          token,
          'TOKEN',
        );
      }),
    );
    expect(shared.size).toBe(1);
    expect([...shared][0]).not.toContain('NEUER TEXT');

    server.received.length = 0;
    const again = await publish({ 'new-send': true });
    expect(again.code).toBe(0);
    const renewed = await server.parsed();
    expect(renewed).toHaveLength(12);
    for (const message of renewed) {
      expect(message.text).toContain('NEUER TEXT');
      expect(message.messageId).not.toBe(messageIdOf(ARTICLE_ID, toOf(message), 'kurier.example'));
    }
    // The flag left in a script sends nobody the same text twice.
    const repeated = await publish({ 'new-send': true });
    expect(repeated.code).toBe(0);
    expect(repeated.out).toContain('already has the current text');
    expect(server.received).toHaveLength(12);
  });
});

describe('defect 6: nobody to send to', () => {
  it.each([
    ['a header-only list', 'email,name', []],
    [
      'a Mailchimp export of unsubscribed members',
      'Email Address,First Name,Last Name,UNSUB_TIME',
      ['a@example.com,A,B,2026-01-01 10:00:00', 'b@example.com,C,D,2026-02-01 10:00:00'],
    ],
  ])(
    '%s: a clear message and exit 0, on every run, and a later subscriber still gets it',
    async (_, header, rows) => {
      server = await startSmtpServer();
      await writeSubscribers(rows, header);
      for (let run = 0; run < 2; run += 1) {
        const result = await publish();
        expect(result.error).toBeUndefined();
        expect(result.code).toBe(0);
        expect(result.out).toContain('Nothing to send');
      }
      await writeSubscribers([...rows, 'late@example.com,L,M,'], header);
      expect((await publish()).code).toBe(0);
      expect(recipientsReceived()).toEqual(['late@example.com']);
    },
  );
});

describe('defect 9 and the secret: the environment, checked with the fix in the message', () => {
  it('refuses a raw % in the SMTP password and says how to percent-encode it', async () => {
    const error = await readSendEnv(root, { SMTP_URL: 'smtp://user:50%off@127.0.0.1:2525' }).catch((e) => e);
    expect(error).toMatchObject({ code: 'ENV_INVALID' });
    expect(String(error.message)).toContain('encodeURIComponent');
    for (const raw of [
      'smtp://user:pa#ss@127.0.0.1:2525',
      'smtp://user:pa?ss@127.0.0.1:2525',
      'smtp://user:a/b@127.0.0.1',
    ]) {
      const cut = await readSendEnv(root, { SMTP_URL: raw }).catch((e) => e);
      expect(cut, raw).toMatchObject({ code: 'ENV_INVALID' });
      expect(String(cut.message)).toContain('encodeURIComponent');
    }
    const ok = await readSendEnv(root, {
      SMTP_URL: `smtp://user:${encodeURIComponent('50%off')}@127.0.0.1:2525`,
    });
    expect(ok.smtp).toMatchObject({
      user: 'user',
      pass: '50%off',
      port: 2525,
      description: 'smtp://127.0.0.1:2525 as user',
    });
  });

  it('needs at least 32 characters of real entropy in KURIER_SECRET', async () => {
    for (const weak of [
      'a'.repeat(16),
      'a'.repeat(40),
      'ab'.repeat(20),
      'passwordpasswordpasswordpassword',
    ]) {
      expect(secretProblem(weak)).toContain('openssl rand -hex 32');
    }
    expect(secretProblem('0123456789abcdef01234567')).toContain('at least 32');
    expect(secretProblem(SECRET)).toBeUndefined();
    expect(secretProblem('f3c9a0b27d6e41c88a5b0f2e9d7c1a36')).toBeUndefined();
    const error = await readSendEnv(root, { KURIER_SECRET: 'x'.repeat(16) }).catch((e) => e);
    expect(error).toMatchObject({ code: 'ENV_INVALID' });
  });
});

describe('weak spots of the send', () => {
  it('greets with a domain, never an address literal', async () => {
    expect(heloName('vm', 'newsletter@kurier.example')).toBe('kurier.example');
    expect(heloName('laptop.local', 'newsletter@kurier.example')).toBe('kurier.example');
    expect(heloName('mail.example.org', 'newsletter@kurier.example')).toBe('mail.example.org');
    server = await startSmtpServer();
    await writeSubscribers(addresses(1));
    expect((await publish()).code).toBe(0);
    expect(server.greetings).toEqual([heloName(hostname(), 'newsletter@kurier.example')]);
    expect(server.greetings[0]).not.toMatch(/^\[/);
  });

  it('says which file a full disk or an unwritable state folder concerns, without a stack trace', async () => {
    server = await startSmtpServer();
    await writeSubscribers(addresses(3));
    // sysfs refuses new files even to root: a state folder nobody can write into.
    await symlink('/sys/kernel', path.join(root, '.kurier'));
    const unwritable = await cli(['publish'], smtpEnv());
    expect(unwritable.code).toBe(1);
    expect(unwritable.err).toMatch(
      /WRITE_FAILED {2}cannot write the email cache in the private state folder \((EPERM|EACCES|EROFS)/,
    );
    expect(unwritable.err).not.toContain('    at ');
  });

  it('names a send.json of the file-based version that is not JSON instead of crashing', async () => {
    server = await startSmtpServer();
    await writeSubscribers(addresses(2));
    const sendDir = path.join(root, '.kurier', 'sends', '0123456789abcdef');
    await mkdir(sendDir, { recursive: true });
    await writeFile(path.join(sendDir, 'send.json'), '{"version": 1, "slug": ');
    const result = await cli(['publish'], smtpEnv());
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/send\.json:1 {2}STORE_INVALID {2}/);
    expect(server.received).toHaveLength(0);
  });

  it('reports an unclosed CSV quote on the line where it opens, and invalid UTF-8 with its line', async () => {
    const file = path.join(root, 'list.csv');
    const read = async () => {
      for await (const _ of readSubscribers(file, 'list.csv')) {
        // Reading is the test.
      }
    };
    await writeFile(file, 'email,name\na@example.com,"Anna\nb@example.com,Ben\n');
    await expect(read()).rejects.toMatchObject({ code: 'SUBSCRIBERS_INVALID', file: 'list.csv', line: 2 });
    await writeFile(file, 'email,name\na@example.com,Anna\nb@example.com,"Ben\n');
    await expect(read()).rejects.toMatchObject({ line: 3 });
    await writeFile(
      file,
      Buffer.concat([
        Buffer.from('email,name\na@example.com,Anna\nj@example.com,J'),
        Buffer.from([0xf6]),
        Buffer.from('rg\n'),
      ]),
    );
    await expect(read()).rejects.toMatchObject({ code: 'SUBSCRIBERS_INVALID', file: 'list.csv', line: 3 });
  });

  it('reports a bad quote on its own line after line breaks inside quoted fields, with LF, CRLF and CR', async () => {
    const file = path.join(root, 'list.csv');
    const read = async () => {
      for await (const _ of readSubscribers(file, 'list.csv')) {
        // Reading is the test.
      }
    };
    for (const eol of ['\n', '\r\n', '\r']) {
      const lines = [
        'email,name',
        'a@example.com,"An',
        'na"',
        'b@example.com,"B',
        'e',
        'n"',
        'c@example.com,"Cem"x',
      ];
      await writeFile(file, `${lines.join(eol)}${eol}`);
      await expect(read(), JSON.stringify(eol)).rejects.toMatchObject({
        code: 'SUBSCRIBERS_INVALID',
        line: 7,
      });
      const inside = ['email,name', 'a@example.com,"An', 'na"', 'b@example.com,"B', 'en "B" here"'];
      await writeFile(file, `${inside.join(eol)}${eol}`);
      await expect(read(), JSON.stringify(eol)).rejects.toMatchObject({
        code: 'SUBSCRIBERS_INVALID',
        line: 5,
      });
    }
  });

  it('cuts a huge address short in every message', () => {
    const huge = `${'x'.repeat(100_000)}@example.com`;
    const result = parseAddress(huge);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason.length).toBeLessThan(200);
      expect(result.reason).toContain('(100012 characters)');
    }
  });

  it('keeps control characters of a reader name out of the sent message', async () => {
    server = await startSmtpServer();
    await writeFile(
      path.join(root, 'subscribers.csv'),
      'email,name\nc@example.com,"Co\u0001n\u000bt\u0085rol"\n',
    );
    expect((await publish()).code).toBe(0);
    const [sent] = await server.parsed();
    // A frozen list of an older Kurier, or any other way in: the message assembly cleans them too.
    const build = await buildAndPickArticle(
      { root, outDir: path.join(root, 'out'), stateDir: path.join(root, '.kurier') },
      undefined,
    );
    const maker = prepareMessageMaker(frozenMessageOf(build.build.site, build.article, build.email), {
      secret: SECRET,
      ring: undefined,
      verp: [],
    });
    const direct = await parseMessage(
      maker.render({ email: 'c@example.com', name: 'Co\u0001n\u000bt\u0085rol', fields: {} }, new Date(0)),
    );
    for (const message of [sent, direct]) {
      const visible = JSON.stringify([message?.headerLines, message?.text, message?.html]);
      expect(visible).toContain('Co n t rol');
      expect(visible).not.toMatch(/\\u000[0-8bcef]|\\u001|\\u007f|\u0085/);
    }
  });
});
