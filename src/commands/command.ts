// The shape every CLI command has: src/cli.ts parses argv with `options` and calls `run` with plain values.

import type { ParseArgsConfig } from 'node:util';

/** Where a command prints. The CLI binds it to stdout/stderr; tests collect lines. */
export interface Io {
  /** A line of normal output (stdout). */
  out(line: string): void;
  /** A line of diagnostics: warnings, errors (stderr). */
  err(line: string): void;
  /** Rewrite the current terminal line (progress bars); only called when `isTTY` is true. */
  status(line: string): void;
  readonly isTTY: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface CommandContext {
  /** The project root: content/, templates/, out/ and the private state live below it. */
  readonly root: string;
  readonly env: Env;
  readonly io: Io;
  /** The clock; tests pass a fixed one. */
  readonly now: () => Date;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly and can be resumed. */
  readonly signal: AbortSignal;
}

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
  run(values: OptionValues, positionals: readonly string[], context: CommandContext): Promise<number>;
}
