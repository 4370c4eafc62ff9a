// Where a command reads and writes: out/ and the private state folder, from options, environment or defaults.

import path from 'node:path';
import type { CommandContext, OptionValues } from './command.ts';

export interface Paths {
  readonly outDir: string;
  readonly stateDir: string;
}

export function planPaths(context: Pick<CommandContext, 'root' | 'env'>, values: OptionValues): Paths {
  const option = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  return {
    outDir: path.resolve(context.root, option('out') ?? 'out'),
    stateDir: path.resolve(context.root, option('state') ?? context.env.KURIER_STATE_DIR ?? '.kurier'),
  };
}
