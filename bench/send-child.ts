// One `kurier publish` in a fresh process (as `npm run publish` runs it): its phases' times and peak memory, as JSON.

import { type PublishOptions, publishCommand, runPublish } from '../src/commands/publish.ts';
import { resolveRunContext } from '../src/environment.ts';

const [root = process.cwd(), mode = 'dry', url = ''] = process.argv.slice(2);
const marks: { frozen?: number; sending?: number } = {};
const lines: string[] = [];
const note = (line: string): void => {
  lines.push(line);
  if (line.startsWith('subscribers.csv:')) marks.frozen = performance.now();
  if (/^(Sending|Dry run):/.test(line)) marks.sending = performance.now();
};
const started = performance.now();
const values = mode === 'smtp' ? { connections: '10' } : { 'dry-run': true };
const context = await resolveRunContext(
  {
    root,
    env: mode === 'smtp' ? { SMTP_URL: url, KURIER_SECRET: '3f9a6c1e8b2d7f4a0c5e9b1d6a8f2c4e7b0d3a5f' } : {},
    io: { isTTY: false, out: note, err: note, status: () => {} },
    now: () => new Date(),
    signal: new AbortController().signal,
  },
  values,
);
const code = await runPublish(publishCommand.parseOptions(values) as PublishOptions, [], context);
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
