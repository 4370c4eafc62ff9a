// `npm run bench [build|email|send|bounces|server]`: the build, newsletter and sending benchmarks, or the one named.

import { benchBounces } from './bounces.ts';
import { benchBuild } from './build.ts';
import { benchEmail } from './email.ts';
import { benchSend } from './send.ts';
import { benchServer } from './server.ts';

const print = (line: string) => process.stdout.write(`${line}\n`);
const benches = {
  build: benchBuild,
  email: benchEmail,
  send: benchSend,
  bounces: benchBounces,
  server: benchServer,
} as const;
const only = process.argv[2];
for (const [name, bench] of Object.entries(benches)) {
  if (only !== undefined && only !== name) continue;
  await bench(print);
  print('');
}
