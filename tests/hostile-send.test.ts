// The hostile corpus of the send (tests/hostile/send/): each case through the real CLI (bin/kurier.js
// publish) against a real SMTP server on 127.0.0.1 with the case's faults, checking exit code, message and
// who got what: every deliverable reader once, or a duplicate only where the fault made it unavoidable.

import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from '../src/schema.ts';
import { parseMessage, startSmtpServer, type TestSmtpOptions, type TestSmtpServer } from './support/smtp.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const CORPUS = path.join(import.meta.dirname, 'hostile', 'send');
const SECRET = '9e2c4a7f1b8d3e6a0c5f2b9d4e7a1c8f3b6d0e9a';

const smtpSchema = z
  .object({
    size: z.number().int().positive().optional(),
    hideSize: z.boolean().optional(),
    /** Replies to RCPT TO: the first rule whose `to` matches (and whose attempt it is) answers. */
    rcpt: z
      .array(
        z.object({
          to: z.string().optional(),
          attempts: z.array(z.number().int().positive()).optional(),
          code: z.number().int(),
          message: z.string(),
        }),
      )
      .optional(),
    /** Faults by the 1-based number of the message's data. */
    data: z.record(z.string(), z.enum(['drop', 'keep-and-drop'])).optional(),
  })
  .default({});

const expectSchema = z.object({
  exit: z.number().int(),
  stderr: z.string().optional(),
  stdout: z.string().optional(),
  /** "all": every valid row; "all-but": every valid row except `undeliverable`; or the exact addresses. */
  delivered: z.union([z.literal('all'), z.literal('all-but'), z.array(z.string())]),
  undeliverable: z.array(z.string()).default([]),
  /** Copies beyond one per reader that the fault makes unavoidable. */
  maxDuplicates: z.number().int().default(0),
  suppressedUnchanged: z.boolean().default(false),
  noControlCharacters: z.boolean().default(false),
  maxStderrLine: z.number().int().optional(),
});

const caseSchema = z.object({
  about: z.string(),
  smtp: smtpSchema,
  env: z.record(z.string(), z.string()).default({}),
  args: z.array(z.string()).default([]),
  runs: z.number().int().positive().default(1),
  expect: expectSchema,
  resume: z.object({ smtp: smtpSchema, expect: expectSchema }).optional(),
});

type Case = z.output<typeof caseSchema>;

const names = (await readdir(CORPUS)).sort();
let server: TestSmtpServer | undefined;
let root: string | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (root !== undefined) await rm(root, { recursive: true, force: true });
  root = undefined;
});

function smtpOptions(script: z.output<typeof smtpSchema>): TestSmtpOptions {
  return {
    size: script.size,
    hideSize: script.hideSize,
    rcpt: (address, attempt) => {
      const rule = script.rcpt?.find(
        (candidate) =>
          (candidate.to === undefined || new RegExp(candidate.to).test(address)) &&
          (candidate.attempts === undefined || candidate.attempts.includes(attempt)),
      );
      return rule === undefined ? undefined : { code: rule.code, message: rule.message };
    },
    data: (count) => script.data?.[String(count)],
  };
}

function runCli(projectRoot: string, args: readonly string[], env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(SMTP_URL|KURIER_|DKIM_)/.test(key)),
  );
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 'kurier.js'), 'publish', ...args], {
    cwd: REPO,
    env: { ...clean, KURIER_ROOT: projectRoot, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  );
}

/** The valid addresses of the case's list, lowercased, as a send would pick them. */
async function listedAddresses(dir: string): Promise<string[]> {
  const text = await readFile(path.join(dir, 'subscribers.csv'), 'latin1');
  return text
    .split('\n')
    .slice(1)
    .map((line) => /^([^,@\s]{1,64}@[^,\s]+),/.exec(line)?.[1]?.toLowerCase())
    .filter((address): address is string => address !== undefined);
}

async function check(
  testCase: Case,
  expected: Case['expect'],
  result: { code: number | null; stdout: string; stderr: string },
  dir: string,
): Promise<void> {
  const report = `${testCase.about}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
  expect(result.code, report).toBe(expected.exit);
  if (expected.stderr !== undefined) expect(result.stderr, report).toMatch(new RegExp(expected.stderr, 'm'));
  if (expected.stdout !== undefined) expect(result.stdout, report).toMatch(new RegExp(expected.stdout, 'm'));
  expect(result.stderr, report).not.toMatch(/internal error|\n\s+at /);
  if (expected.maxStderrLine !== undefined) {
    for (const line of result.stderr.split('\n'))
      expect(line.length).toBeLessThanOrEqual(expected.maxStderrLine);
  }
  if (server === undefined) return;
  const listed = await listedAddresses(dir);
  const deliverable =
    expected.delivered === 'all'
      ? listed
      : expected.delivered === 'all-but'
        ? listed.filter((address) => !expected.undeliverable.includes(address))
        : expected.delivered;
  const copies = new Map<string, Buffer[]>();
  for (const message of server.received) {
    for (const to of message.to)
      copies.set(to.toLowerCase(), [...(copies.get(to.toLowerCase()) ?? []), message.raw]);
  }
  expect([...copies.keys()].sort(), report).toEqual([...deliverable].sort());
  let duplicates = 0;
  for (const [to, raws] of copies) {
    duplicates += raws.length - 1;
    // A duplicate is the same message: the same bytes, so the same Message-ID.
    for (const raw of raws) expect(raw.equals(raws[0] as Buffer), `${to}: copies differ`).toBe(true);
  }
  expect(duplicates, report).toBeLessThanOrEqual(expected.maxDuplicates);
  if (expected.noControlCharacters) {
    for (const { raw } of server.received) {
      const parsed = await parseMessage(raw);
      const visible = JSON.stringify([parsed.headerLines, parsed.text, parsed.html]);
      // JSON writes C0 controls as \u00xx (line breaks as \n); DEL and the C1 controls stay as they are.
      expect(visible).not.toMatch(/\\u00[01][0-9a-f]/i);
      expect(visible).not.toMatch(/[\u007f-\u009f]/);
    }
  }
}

describe('hostile corpus: kurier publish', () => {
  it.each(names)('%s', async (name) => {
    const dir = path.join(CORPUS, name);
    const testCase = caseSchema.parse(JSON.parse(await readFile(path.join(dir, 'case.json'), 'utf8')));
    root = await mkdtemp(path.join(tmpdir(), 'kurier-hostile-'));
    for (const folder of ['content', 'templates']) {
      await cp(path.join(REPO, folder), path.join(root, folder), { recursive: true });
    }
    await cp(path.join(dir, 'subscribers.csv'), path.join(root, 'subscribers.csv'));
    const suppressedSource = path.join(dir, 'suppressed.jsonl');
    const suppressedTarget = path.join(root, '.kurier', 'suppressed.jsonl');
    const suppressedBefore = await readFile(suppressedSource).catch(() => undefined);
    if (suppressedBefore !== undefined) {
      await mkdir(path.join(root, '.kurier'));
      await cp(suppressedSource, suppressedTarget);
    }
    server = await startSmtpServer(smtpOptions(testCase.smtp));
    const env = (): Record<string, string> => {
      const values: Record<string, string> = { SMTP_URL: server?.url ?? '', KURIER_SECRET: SECRET };
      for (const [key, value] of Object.entries(testCase.env)) {
        values[key] = value.replace('{port}', String(server?.port ?? 0));
      }
      return values;
    };
    for (let run = 0; run < testCase.runs; run += 1) {
      await check(testCase, testCase.expect, await runCli(root, testCase.args, env()), dir);
    }
    if (testCase.expect.suppressedUnchanged && suppressedBefore !== undefined) {
      expect((await readFile(suppressedTarget)).equals(suppressedBefore)).toBe(true);
    }
    if (testCase.resume !== undefined) {
      const before = server.received.slice();
      await server.close();
      server = await startSmtpServer(smtpOptions(testCase.resume.smtp));
      server.received.push(...before);
      await check(testCase, testCase.resume.expect, await runCli(root, testCase.args, env()), dir);
    }
  });
});
