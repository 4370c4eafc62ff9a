// One `kurier publish` in a fresh process (as `npm run publish` runs it): its phases' times and peak memory, as JSON.

import { runPublish } from '../src/commands/publish.ts';

const [root = process.cwd(), mode = 'dry', url = ''] = process.argv.slice(2);
const marks: { frozen?: number; sending?: number } = {};
const lines: string[] = [];
const note = (line: string): void => {
  lines.push(line);
  if (line.startsWith('subscribers.csv:')) marks.frozen = performance.now();
  if (/^(Sending|Dry run):/.test(line)) marks.sending = performance.now();
};
const started = performance.now();
const code = await runPublish(mode === 'smtp' ? { connections: '10' } : { 'dry-run': true }, [], {
  root,
  env: mode === 'smtp' ? { SMTP_URL: url, KURIER_SECRET: 'bench-secret-0123456789abcdef' } : {},
  io: { isTTY: false, out: note, err: note, status: () => {} },
  now: () => new Date(),
  signal: new AbortController().signal,
});
const ended = performance.now();
process.stdout.write(
  `${JSON.stringify({
    code,
    buildAndFreezeSeconds: ((marks.frozen ?? started) - started) / 1000,
    sendSeconds: (ended - (marks.sending ?? ended)) / 1000,
    maxRssKiB: process.resourceUsage().maxRSS,
    lines: lines.filter((line) => !line.includes(' done')),
  })}\n`,
);
