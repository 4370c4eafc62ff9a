// One `kurier publish` in a fresh process (as `npm run publish` runs it), or one freeze of the store's list:
// its phases' times and peak memory, as JSON.

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type PublishOptions, publishCommand, runPublish } from '../src/commands/publish.ts';
import { resolveRunContext } from '../src/environment.ts';
import { importList } from '../src/send/import.ts';
import { openStore } from '../src/store/open.ts';

const [root = process.cwd(), mode = 'dry', url = '', databaseUrl = ''] = process.argv.slice(2);
const database = databaseUrl === '' ? {} : { DATABASE_URL: databaseUrl };
const marks: { imported?: number; sending?: number; sendingCpu?: NodeJS.CpuUsage } = {};
const lines: string[] = [];
const note = (line: string): void => {
  lines.push(line);
  if (line.startsWith('subscribers.csv:')) marks.imported = performance.now();
  if (/^(Sending|Dry run):/.test(line)) {
    marks.sending = performance.now();
    marks.sendingCpu = process.cpuUsage();
  }
};
const started = performance.now();
let code = 0;
let freezeSeconds = 0;
const openBenchStore = () =>
  openStore({
    stateDir: path.join(root, '.kurier'),
    databaseUrl: databaseUrl === '' ? undefined : databaseUrl,
    now: new Date(),
    randomBytes,
  });
if (mode === 'import') {
  // What the first `kurier publish` of a list does before anything else (later runs skip the unchanged file).
  const store = await openBenchStore();
  const summary = await importList(
    store,
    { file: path.join(root, 'subscribers.csv'), displayName: 'subscribers.csv' },
    { isTTY: false, out: note, err: note, status: () => {} },
    new Date(),
  );
  marks.imported = performance.now();
  lines.push(`imported ${summary.added}`);
  await store.close();
} else if (mode === 'freeze') {
  // What a real send does first: the whole active list copied into the send inside the database.
  const store = await openBenchStore();
  const { send } = await store.createSend({
    articleId: `tag:bench,2026:${Date.now()}`,
    email: {},
    frozenAt: new Date(),
  });
  freezeSeconds = (performance.now() - started) / 1000;
  lines.push(`froze ${send.total} recipients`);
  await store.close();
} else {
  const values = mode === 'smtp' ? { connections: '10' } : { 'dry-run': true };
  const context = await resolveRunContext(
    {
      root,
      env:
        mode === 'smtp'
          ? { SMTP_URL: url, KURIER_SECRET: '3f9a6c1e8b2d7f4a0c5e9b1d6a8f2c4e7b0d3a5f', ...database }
          : database,
      io: { isTTY: false, out: note, err: note, status: () => {} },
      now: () => new Date(),
      signal: new AbortController().signal,
    },
    values,
  );
  code = await runPublish(publishCommand.parseOptions(values) as PublishOptions, [], context);
}
const ended = performance.now();
// CPU time of the whole process (the database thread too) while sending: what a free core would allow,
// however busy the machine is.
const cpu = process.cpuUsage(marks.sendingCpu);
process.stdout.write(
  `${JSON.stringify({
    code,
    buildAndImportSeconds: ((marks.imported ?? started) - started) / 1000,
    freezeSeconds,
    sendSeconds: (ended - (marks.sending ?? ended)) / 1000,
    sendCpuSeconds: marks.sendingCpu === undefined ? 0 : (cpu.user + cpu.system) / 1e6,
    maxRssKiB: process.resourceUsage().maxRSS,
    lines: lines.filter((line) => !line.includes(' done')),
  })}\n`,
);
