// The executable: `tsx src/kurier.ts <command>` (npm scripts) or bin/kurier.js.
import { runFromProcess } from './cli.ts';

await runFromProcess();
