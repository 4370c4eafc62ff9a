// The shape every CLI command has: one table of options gives src/cli.ts the parseArgs options, the
// validation of each value and the --help text; `run` gets the checked values.

import type { ParseArgsConfig } from 'node:util';
import type { RunContext } from '../context.ts';
import { KurierError } from '../error.ts';

/**
 * What checks an option's value: a zod schema (src/schema.ts), or a check of the same shape for the path
 * and flag options every command shares. Those two need no zod: loading it costs ~50 ms, a third of what a
 * one-article `kurier build` may take, and zod/mini loads the same core.
 */
export interface OptionSchema<T> {
  safeParse(value: unknown):
    | { readonly success: true; readonly data: T }
    | {
        readonly success: false;
        readonly error: {
          readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[];
        };
      };
}

/** One option, declared once. */
export interface Option<T> {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's name in --help ("DIR" shows "--out DIR"); string options only. */
  readonly value?: string;
  /** The --help text; further lines continue under the first. */
  readonly help: string;
  /** Checks and converts what parseArgs found (a string, true, or undefined when absent). */
  readonly schema: OptionSchema<T>;
}

export type OptionTable = Readonly<Record<string, Option<unknown>>>;

export type OptionsOf<T extends OptionTable> = {
  readonly [K in keyof T]: T[K] extends Option<infer V> ? V : never;
};

export type OptionValues = Readonly<Record<string, unknown>>;

interface CommandSpec<T extends OptionTable> {
  readonly name: string;
  /** One line for `kurier --help`. */
  readonly summary: string;
  /** After "Usage: ", e.g. "kurier publish [slug] [options]". */
  readonly usage: string;
  /** What the command does, before the options in --help. */
  readonly about: string;
  /** Anything to say after the options (defaults, exit codes). */
  readonly footer?: string;
  readonly options: T;
  readonly allowPositionals: boolean;
  /** Returns the exit code. Expected failures throw KurierError; the CLI prints it once. */
  run(options: OptionsOf<T>, positionals: readonly string[], context: RunContext): Promise<number>;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** The full `kurier <name> --help` text, made from the table. */
  readonly help: string;
  readonly parseArgsOptions: NonNullable<ParseArgsConfig['options']>;
  readonly allowPositionals: boolean;
  /** Checks the values parseArgs found against the table: USAGE errors name the option. */
  parseOptions(values: OptionValues): OptionValues;
  run(options: OptionValues, positionals: readonly string[], context: RunContext): Promise<number>;
}

const HELP_OPTION = { flag: '-h, --help', help: 'show this help' };

function renderHelp<T extends OptionTable>(spec: CommandSpec<T>): string {
  const rows = Object.entries(spec.options).map(([name, option]) => ({
    flag: `${option.short === undefined ? '' : `-${option.short}, `}--${name}${option.value === undefined ? '' : ` ${option.value}`}`,
    help: option.help,
  }));
  rows.push(HELP_OPTION);
  const width = Math.max(...rows.map((row) => row.flag.length)) + 2;
  const lines = rows.flatMap((row) => {
    const [first = '', ...more] = row.help.split('\n');
    return [`  ${row.flag.padEnd(width)}${first}`, ...more.map((line) => `  ${' '.repeat(width)}${line}`)];
  });
  return [
    `Usage: ${spec.usage}`,
    '',
    spec.about,
    '',
    'Options:',
    ...lines,
    ...(spec.footer === undefined ? [] : ['', spec.footer]),
  ].join('\n');
}

export function defineCommand<T extends OptionTable>(spec: CommandSpec<T>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    help: renderHelp(spec),
    parseArgsOptions: Object.fromEntries(
      Object.entries(spec.options).map(([name, option]) => [
        name,
        option.short === undefined ? { type: option.type } : { type: option.type, short: option.short },
      ]),
    ),
    allowPositionals: spec.allowPositionals,
    parseOptions(values) {
      const options: Record<string, unknown> = {};
      for (const [name, option] of Object.entries(spec.options)) {
        const parsed = option.schema.safeParse(values[name]);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const where = [name, ...(issue?.path ?? [])].map(String).join('.');
          throw new KurierError('USAGE', `--${where}: ${issue?.message ?? 'invalid'}.`);
        }
        if (parsed.data !== undefined) options[name] = parsed.data;
      }
      return options;
    },
    run: (options, positionals, context) => spec.run(options as OptionsOf<T>, positionals, context),
  };
}

function invalid(message: string) {
  return { success: false, error: { issues: [{ path: [], message }] } } as const;
}

/** A non-empty string, or absent. */
const pathSchema: OptionSchema<string | undefined> = {
  safeParse: (value) =>
    value === undefined || (typeof value === 'string' && value !== '')
      ? { success: true, data: value }
      : invalid('give a path'),
};

/** true when given, false when absent. */
const flagSchema: OptionSchema<boolean> = {
  safeParse: (value) =>
    value === undefined || typeof value === 'boolean'
      ? { success: true, data: value ?? false }
      : invalid('a flag takes no value'),
};

/** A folder or file option: a non-empty string, or absent. */
export function pathOption(value: string, help: string): Option<string | undefined> {
  return { type: 'string', value, help, schema: pathSchema };
}

export const outOption = (help = 'where the build writes (default: out)') => pathOption('DIR', help);

export const stateOption = pathOption('DIR', 'private state folder (default: .kurier, or KURIER_STATE_DIR)');

export function flagOption(help: string): Option<boolean> {
  return { type: 'boolean', help, schema: flagSchema };
}
