// `kurier server` for tests: in this process through main() (stopped by its abort signal, as SIGTERM does),
// or as a real child process (for SIGKILL), listening on 127.0.0.1 on a free port.

import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { main } from '../../src/cli.ts';
import type { Env } from '../../src/context.ts';
import { repoRoot } from './project.ts';

export interface RunningServer {
  readonly url: string;
  /** Everything it printed: the access log among it. */
  readonly lines: string[];
  /** SIGTERM: resolves with the exit code once it has shut down. */
  stop(): Promise<number>;
}

export async function startServer(root: string, env: Env): Promise<RunningServer> {
  const controller = new AbortController();
  const lines: string[] = [];
  let listening: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => {
    listening = resolve;
  });
  const collect = (line: string) => {
    lines.push(line);
    const match = /listening on (\S+)/.exec(line);
    if (match?.[1] !== undefined) listening(match[1]);
  };
  const done = main(['server', '--port', '0'], {
    root,
    env,
    io: { isTTY: false, out: collect, err: collect, status: () => {} },
    now: () => new Date(),
    signal: controller.signal,
  });
  const exited = done.then((code) => {
    throw new Error(`kurier server exited with ${code} before listening:\n${lines.join('\n')}`);
  });
  return {
    url: await Promise.race([url, exited]),
    lines,
    stop() {
      controller.abort();
      return done;
    },
  };
}

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: string[];
}

/** `node bin/kurier.js server` in a process of its own. */
export async function spawnServer(root: string, env: Env): Promise<ServerProcess> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'kurier.js'), 'server', '--port', '0'], {
    env: { PATH: process.env.PATH, ...env, KURIER_ROOT: root },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString('utf8'));
      const match = /listening on (\S+)/.exec(output.join(''));
      if (match?.[1] !== undefined) resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`kurier server exited with ${code}:\n${output.join('')}`)));
  });
  return { url, child, output };
}

/** A one-click unsubscribe as a mailbox provider makes it (RFC 8058 §3.2): a form POST, no redirect followed. */
export function postOneClick(url: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'List-Unsubscribe=One-Click',
    redirect: 'manual',
  });
}
