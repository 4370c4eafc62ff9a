// The CLI entry: the only place that reads argv, the environment and the process, and sets the exit code.

import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeCodeCaches } from './code-cache.ts';
import type { Command } from './commands/command.ts';
import type { CommandContext, Env, Io } from './context.ts';
import { resolveRunContext } from './environment.ts';
import { formatError, KurierError } from './error.ts';

interface CommandEntry {
  readonly name: string;
  /** Loaded on use: the send side's modules (SMTP, CSV) would add 0.2 s to every build's start-up. */
  readonly load: () => Promise<Command>;
}

const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'bounces',
    load: async () => (await import('./commands/bounces-store.ts')).bouncesCommand,
  },
  {
    name: 'build',
    load: async () => (await import('./commands/build.ts')).buildCommand,
  },
  {
    name: 'new',
    load: async () => (await import('./commands/new.ts')).newCommand,
  },
  {
    name: 'publish',
    load: async () => (await import('./commands/publish.ts')).publishCommand,
  },
  {
    name: 'serve',
    load: async () => (await import('./commands/serve.ts')).serveCommand,
  },
  {
    name: 'server',
    load: async () => (await import('./commands/server.ts')).serverCommand,
  },
  {
    name: 'status',
    load: async () => (await import('./commands/status.ts')).statusCommand,
  },
  {
    name: 'subscribers',
    load: async () => (await import('./commands/subscribers.ts')).subscribersCommand,
  },
];

const EXIT_USAGE = 2;
/** sysexits.h EX_SOFTWARE: a bug in Kurier, not a problem with the user's input. */
const EXIT_BUG = 70;

async function renderHelp(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map((entry) => entry.load()));
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'Usage: kurier <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Run "kurier <command> --help" for the options of a command.',
  ].join('\n');
}

export async function main(argv: readonly string[], context: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  const { io } = context;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(await renderHelp());
    return name === undefined ? EXIT_USAGE : 0;
  }
  const entry = COMMANDS.find((candidate) => candidate.name === name);
  if (entry === undefined) {
    io.err(`kurier: unknown command "${name}".\n\n${await renderHelp()}`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: { ...command.parseArgsOptions, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.allowPositionals,
      strict: true,
    });
  } catch (error) {
    io.err(`kurier ${command.name}: ${(error as Error).message}\n\n${command.help}`);
    return EXIT_USAGE;
  }
  if (parsed.values.help === true) {
    io.out(command.help);
    return 0;
  }
  try {
    const { help: _help, ...values } = parsed.values;
    const options = command.parseOptions(values);
    return await command.run(options, parsed.positionals, await resolveRunContext(context, options));
  } catch (error) {
    if (error instanceof KurierError) {
      io.err(formatError(error));
      return error.code === 'USAGE' ? EXIT_USAGE : 1;
    }
    io.err(
      `kurier: internal error, please report it with this output:\n${(error as Error).stack ?? String(error)}`,
    );
    return EXIT_BUG;
  }
}

function createProcessIo(): Io {
  const isTTY = process.stderr.isTTY === true;
  let statusShown = false;
  const clearStatus = () => {
    if (statusShown) process.stderr.write('\r\x1b[2K');
    statusShown = false;
  };
  return {
    isTTY,
    out(line) {
      clearStatus();
      process.stdout.write(`${line}\n`);
    },
    err(line) {
      clearStatus();
      process.stderr.write(`${line}\n`);
    },
    status(line) {
      process.stderr.write(`\r\x1b[2K${line}`);
      statusShown = true;
    },
  };
}

export async function runFromProcess(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\n${signal}: finishing what is in flight; press Ctrl-C again to stop at once.\n`);
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const env: Env = { ...process.env };
  const root = env.KURIER_ROOT === undefined ? process.cwd() : path.resolve(env.KURIER_ROOT);
  process.exitCode = await main(process.argv.slice(2), {
    root,
    env,
    io: createProcessIo(),
    now: () => new Date(),
    signal: controller.signal,
  });
  // After the command, so that the caches of the bundled packages hold what the command compiled of them.
  writeCodeCaches();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
