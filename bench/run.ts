// `npm run bench`: the build benchmark (email and send benchmarks join as they land).

import { benchBuild } from './build.ts';

const print = (line: string) => process.stdout.write(`${line}\n`);
await benchBuild(print);
