// Runs one `kurier build` through the real CLI in this process, then reports its peak memory on stdout.

import { main } from '../src/cli.ts';

const root = process.argv[2] ?? process.cwd();
const lines: string[] = [];
const code = await main(['build'], {
  root,
  env: {},
  io: { isTTY: false, out: (line) => lines.push(line), err: (line) => lines.push(line), status: () => {} },
  now: () => new Date(),
  signal: new AbortController().signal,
});
process.stdout.write(`${JSON.stringify({ code, maxRssKiB: process.resourceUsage().maxRSS, lines })}\n`);
