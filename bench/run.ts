// `npm run bench [build|serve|email|send|bounces|server] [options]`: the benchmarks, or the one named; options go to it
// (build: --peers, --sizes=1,1000, --rounds=3).

import { benchBounces } from './bounces.ts';
import { benchBuild } from './build.ts';
import { benchEmail } from './email.ts';
import { benchSend } from './send.ts';
import { benchServe } from './serve.ts';
import { benchServer } from './server.ts';

const print = (line: string) => process.stdout.write(`${line}\n`);
const benches = {
  build: benchBuild,
  serve: benchServe,
  email: benchEmail,
  send: benchSend,
  bounces: benchBounces,
  server: benchServer,
} as const;
const [only, ...args] = process.argv.slice(2);
for (const [name, bench] of Object.entries(benches)) {
  if (only !== undefined && !only.startsWith('--') && only !== name) continue;
  await bench(print, only?.startsWith('--') ? [only, ...args] : args);
  print('');
}
