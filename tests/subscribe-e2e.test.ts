// A reader's whole way in real processes and a real browser: the sign-up form on the page `kurier serve`
// serves, the confirmation mail over SMTP, the confirm button, `kurier publish` mailing them, the one-click
// unsubscribe a mailbox provider makes from the newsletter's List-Unsubscribe header (RFC 8058), the next
// publish leaving them out, and `kurier subscribers export` showing consent and unsubscribe. SQLite and
// PostgreSQL (a fresh database per run).

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Browser, describeViolations, launchChromium, openHtml, runAxe } from './support/chromium.ts';
import { freePort } from './support/net.ts';
import { makeProject, repoRoot } from './support/project.ts';
import { lacks } from './support/requirements.ts';
import { postOneClick } from './support/server.ts';
import { type ParsedMail, parseMessage, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { BACKENDS, makeStoreFixture, type StoreFixture } from './support/store.ts';

const READER = 'Leserin.Eins@Example.ORG';
const OTHER = 'leser.zwei@example.org';
const CONSENT =
  'Ja, ich möchte den Newsletter von Kurier per E-Mail erhalten und kann ihn jederzeit abbestellen.';

interface Kurier {
  readonly child: ChildProcess;
  readonly output: string[];
}

/** `node bin/kurier.js …` in a process of its own; resolves once `ready` matches what it printed. */
function startKurier(args: readonly string[], env: Record<string, string>, ready: RegExp): Promise<Kurier> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'kurier.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString('utf8'));
      if (ready.test(output.join(''))) resolve({ child, output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`kurier ${args[0]} exited with ${code}:\n${output.join('')}`)),
    );
  });
}

/** A command to its end: exit code and everything it printed. */
async function runKurier(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'kurier.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out, err };
}

async function stop(kurier: Kurier | undefined): Promise<void> {
  if (kurier === undefined || kurier.child.exitCode !== null || kurier.child.signalCode !== null) return;
  const exited = new Promise((resolve) => kurier.child.once('exit', resolve));
  kurier.child.kill('SIGTERM');
  await exited;
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The messages the SMTP server received for `address`, parsed. */
async function mailTo(smtp: TestSmtpServer, address: string) {
  const messages = smtp.received.filter((message) =>
    message.to.some((to) => to.toLowerCase() === address.toLowerCase()),
  );
  return Promise.all(messages.map((message) => parseMessage(message.raw)));
}

/** A header's value as the message carries it, unfolded (mailparser's parsed `list` object hides the URL's form). */
function rawHeader(mail: ParsedMail | undefined, name: string): string | undefined {
  const line = mail?.headerLines.find((header) => header.key === name)?.line;
  return line
    ?.slice(line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}

/**
 * axe on a page's HTML, in a page of its own: the server's Content-Security-Policy (rightly) stops the
 * injected axe script on the page itself.
 */
async function violations(browser: Browser, html: string): Promise<string[]> {
  const page = await openHtml(browser, html, { width: 375 });
  try {
    return describeViolations(await runAxe(page));
  } finally {
    await page.close();
  }
}

/** RFC 4180 rows, enough for the export (quoted cells with commas and doubled quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split(/\r?\n/).filter((row) => row !== '')) {
    const cells: string[] = [];
    const cell = /("(?:[^"]|"")*"|[^,]*)(,|$)/g;
    for (let match = cell.exec(line); match !== null; match = cell.exec(line)) {
      const value = match[1] ?? '';
      cells.push(value.startsWith('"') ? value.slice(1, -1).replaceAll('""', '"') : value);
      if (match[2] === '') break;
    }
    rows.push(cells);
  }
  return rows;
}

async function addSubscriptions(root: string, url: string): Promise<void> {
  const file = path.join(root, 'content', 'site.yaml');
  const settings = await readFile(file, 'utf8');
  await writeFile(
    file,
    `${settings}subscriptions:\n  url: ${url}\n  privacyUrl: https://kurier.example/datenschutz/\n  consent: ${CONSENT}\n`,
  );
}

/** A second article, newer than the sample's, for the publish after the unsubscribe. */
async function addArticle(root: string): Promise<void> {
  const folder = path.join(root, 'content', 'posts');
  await writeFile(
    path.join(folder, 'dortmund-nach-dem-stahl.md'),
    [
      '---',
      'id: tag:kurier.example,2026:dortmund-nach-dem-stahl',
      'title: "Dortmund nach dem Stahl"',
      'slug: dortmund-nach-dem-stahl',
      'date: 2026-11-28T08:00:00+01:00',
      'author: Rolevinck',
      'lang: de',
      'summary: Was aus den Hochöfen von Phoenix-West wurde.',
      'tags:',
      '  - Dortmund',
      '---',
      '',
      'Wo einst der Stahl floss, liegt heute ein See.',
      '',
    ].join('\n'),
  );
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

for (const backend of BACKENDS) {
  const missing = backend.name === 'postgres' ? lacks('chromium', 'postgres') : lacks('chromium');
  describe.skipIf(missing)(`a reader's way from the form to one-click unsubscribe on ${backend.name}`, () => {
    it('signs up in Chromium, confirms from the mail, gets one newsletter, leaves with one click', async () => {
      const fixture: StoreFixture = await makeStoreFixture(backend);
      cleanups.push(() => fixture.cleanup());
      const root = await makeProject();
      cleanups.push(() => rm(root, { recursive: true, force: true }));
      const smtp = await startSmtpServer();
      cleanups.push(() => smtp.close());

      const port = await freePort();
      const serviceUrl = `http://127.0.0.1:${port}/`;
      await addSubscriptions(root, serviceUrl);
      const env: Record<string, string> = {
        KURIER_ROOT: root,
        KURIER_STATE_DIR: fixture.stateDir,
        KURIER_SECRET: randomBytes(32).toString('hex'),
        SMTP_URL: smtp.url,
        ...(fixture.databaseUrl === undefined ? {} : { DATABASE_URL: fixture.databaseUrl }),
      };

      const server = await startKurier(['server', '--port', String(port)], env, /listening on /);
      cleanups.push(() => stop(server));
      const serve = await startKurier(['serve', '--port', '0'], env, /at http:\/\/127\.0\.0\.1:\d+\//);
      cleanups.push(() => stop(serve));
      const siteUrl = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(serve.output.join(''))?.[1] ?? '';

      const browser: Browser = await launchChromium();
      cleanups.push(() => browser.close());
      const page = await browser.newPage();
      // Offline: only the two local services answer; the site's own host (its stylesheet) is not reached.
      await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());

      await page.goto(siteUrl);
      await page.fill('#signup-email', READER);
      await page.fill('#signup-name', 'Leserin Eins');
      await Promise.all([
        page.waitForURL(`${serviceUrl}subscribed`),
        page.click('.signup button[type=submit]'),
      ]);
      expect(await page.locator('h1').textContent()).toBe('Bitte sehen Sie in Ihr Postfach');
      // The pages as the server sent them: axe finds nothing.
      expect(await violations(browser, await page.content())).toEqual([]);

      const [confirmation] = await until(async () => {
        const mails = await mailTo(smtp, READER);
        return mails.length > 0 ? mails : undefined;
      }, 'the confirmation mail');
      const confirmUrl = /http:\/\/127\.0\.0\.1:\d+\/confirm\?token=[A-Za-z0-9_-]+/.exec(
        confirmation?.text ?? '',
      )?.[0];
      expect(confirmUrl?.startsWith(`${serviceUrl}confirm?token=`)).toBe(true);

      // A link scanner fetching the link changes nothing: the GET shows a button.
      const shown = await page.goto(confirmUrl ?? '');
      expect(shown?.status()).toBe(200);
      expect(await violations(browser, await page.content())).toEqual([]);
      const pending = await runKurier(['subscribers', 'export'], env);
      expect(pending.code).toBe(0);
      expect(pending.out).toContain(',pending,');
      const [confirmed] = await Promise.all([
        page.waitForResponse((response) => response.request().method() === 'POST'),
        page.click('main form button[type=submit]'),
      ]);
      expect(confirmed.status()).toBe(200);
      expect(await page.locator('h1').textContent()).toBe('Abonnement bestätigt');
      expect(await violations(browser, await page.content())).toEqual([]);
      const active = await runKurier(['subscribers', 'export'], env);
      expect(active.out).toContain(',active,');

      const first = await runKurier(['publish'], env);
      expect(first.code, `${first.out}\n${first.err}`).toBe(0);
      const newsletters = (await mailTo(smtp, READER)).filter((mail) => rawHeader(mail, 'list-unsubscribe'));
      expect(newsletters).toHaveLength(1);
      const listUnsubscribe = rawHeader(newsletters[0], 'list-unsubscribe') ?? '';
      const oneClickUrl = /<(https?:[^>]+)>/.exec(listUnsubscribe)?.[1] ?? '';
      expect(oneClickUrl.startsWith(`${serviceUrl}unsubscribe?token=`), listUnsubscribe).toBe(true);
      expect(rawHeader(newsletters[0], 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');

      // As Gmail does it: a POST to the header's URL with the RFC 8058 body, no cookies, no redirect followed.
      const oneClick = await postOneClick(oneClickUrl);
      expect(oneClick.status).toBe(200);

      // Someone still on the list, to show that the next publish did send, and to whom.
      const other = await runKurier(['subscribers', 'add', OTHER], env);
      expect(other.code, other.err).toBe(0);
      await addArticle(root);
      const second = await runKurier(['publish'], env);
      expect(second.code, `${second.out}\n${second.err}`).toBe(0);
      const after = (await mailTo(smtp, READER)).filter((mail) => rawHeader(mail, 'list-unsubscribe'));
      expect(after).toHaveLength(1);
      const toOther = (await mailTo(smtp, OTHER)).map((mail) => mail.subject);
      expect(toOther).toEqual(['Dortmund nach dem Stahl']);

      const exported = await runKurier(['subscribers', 'export'], env);
      expect(exported.code).toBe(0);
      const [head, ...rows] = parseCsv(exported.out);
      const column = (name: string) => (head ?? []).indexOf(name);
      expect(rows).toHaveLength(2);
      const row = rows.find((cells) => cells[column('email')] === 'Leserin.Eins@example.org') ?? [];
      const cell = (name: string) => row[column(name)] ?? '';
      expect(cell('email')).toBe('Leserin.Eins@example.org');
      expect(cell('name')).toBe('Leserin Eins');
      expect(cell('status')).toBe('unsubscribed');
      expect(cell('status_cause')).toContain('one-click');
      expect(cell('consent_source')).toBe('form');
      expect(cell('consent_form')).toBe('index');
      expect(cell('consent_page')).toBe('https://kurier.example/');
      expect(cell('consent_wording')).toBe(CONSENT);
      expect(cell('consent_ip')).toBe('127.0.0.1');
      expect(cell('consent_user_agent')).toContain('Chrome');
      expect(cell('consent_confirmed_at')).not.toBe('');
      expect(cell('confirm_ip')).toBe('127.0.0.1');
      expect(cell('confirm_user_agent')).toContain('Chrome');
    }, 120_000);
  });
}
