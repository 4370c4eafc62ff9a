// The shape every CLI command has: src/cli.ts parses argv with `options` and calls `run` with plain values.

import type { ParseArgsConfig } from 'node:util';
import type { RunContext } from '../context.ts';

export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export interface Command {
  readonly name: string;
  /** One line for `kurier --help`. */
  readonly summary: string;
  /** The full `kurier <name> --help` text. */
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly allowPositionals: boolean;
  /** Returns the exit code. Expected failures throw KurierError; the CLI prints it once. */
  run(values: OptionValues, positionals: readonly string[], context: RunContext): Promise<number>;
}
