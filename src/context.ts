// What the CLI entry hands every command and service: where to print, the environment, the clock, the stop signal.

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

/** Where a run writes: the published folder and the private state folder, resolved once by the CLI entry. */
export interface Paths {
  readonly outDir: string;
  readonly stateDir: string;
}

/** What a command runs with: the entry's context, with `.env` merged into `env` and the paths resolved. */
export interface RunContext extends CommandContext {
  readonly paths: Paths;
}
