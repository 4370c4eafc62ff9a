// The shape every CLI command has: one table of options gives src/cli.ts the parseArgs options, the
// validation of each value and the --help text; `run` gets the checked values.

import type { ParseArgsConfig } from 'node:util';
import type { RunContext } from '../context.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';

/** One option, declared once. */
export interface Option<T> {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's name in --help ("DIR" shows "--out DIR"); string options only. */
  readonly value?: string;
  /** The --help text; further lines continue under the first. */
  readonly help: string;
  /** Checks and converts what parseArgs found (a string, true, or undefined when absent). */
  readonly schema: z.ZodType<T>;
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
  const schema = z.object(
    Object.fromEntries(Object.entries(spec.options).map(([name, option]) => [name, option.schema])),
  );
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
      const parsed = schema.safeParse(values);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new KurierError('USAGE', `--${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}.`);
      }
      return parsed.data;
    },
    run: (options, positionals, context) => spec.run(options as OptionsOf<T>, positionals, context),
  };
}

/** A folder or file option: a non-empty string, or absent. */
export function pathOption(value: string, help: string): Option<string | undefined> {
  return { type: 'string', value, help, schema: z.string().min(1, 'give a path').optional() };
}

export const outOption = (help = 'where the build writes (default: out)') => pathOption('DIR', help);

export const stateOption = pathOption('DIR', 'private state folder (default: .kurier, or KURIER_STATE_DIR)');

export function flagOption(help: string): Option<boolean> {
  return { type: 'boolean', help, schema: z.boolean().default(false) };
}
