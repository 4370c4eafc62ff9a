// Who holds a send's lock in the store: a run names itself by host, pid and process start, so that a run
// killed on this host is recognised at once (its lock taken over) instead of after the lock's time runs out.

import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

export interface LockOwner {
  readonly host: string;
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid from the process that took the lock ("" without /proc). */
  readonly start: string;
  readonly nonce: string;
}

export function renderLockOwner(owner: LockOwner): string {
  return JSON.stringify([owner.host, owner.pid, owner.start, owner.nonce]);
}

export function parseLockOwner(text: string): LockOwner | undefined {
  try {
    const [host, pid, start, nonce] = JSON.parse(text) as unknown[];
    if (typeof host !== 'string' || typeof pid !== 'number' || typeof start !== 'string') return undefined;
    return { host, pid, start, nonce: String(nonce) };
  } catch {
    return undefined;
  }
}

export interface ProcessInfo {
  /** 'Z' for a zombie: a killed process whose parent has not reaped it yet still answers kill(pid, 0). */
  readonly state: string;
  readonly start: string;
}

/** Reads /proc/<pid>/stat (Linux); undefined where there is no /proc or no such process. */
async function readProcessInfo(pid: number | 'self'): Promise<ProcessInfo | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses; the fields after its last ")" do not.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  return state === undefined || start === undefined ? undefined : { state, start };
}

function processAnswers(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This run, as it names itself in the lock. */
export async function planThisOwner(nonce: string): Promise<LockOwner> {
  return { host: hostname(), pid: process.pid, start: (await readProcessInfo('self'))?.start ?? '', nonce };
}

/** Pure: whether the holder of a lock is gone, from what this host can see of it. */
export function isOwnerGone(
  owner: LockOwner,
  host: string,
  answers: boolean,
  info: ProcessInfo | undefined,
): boolean {
  // On another host only the lock's time tells; the store lets it run out.
  if (owner.host !== host) return false;
  if (!answers) return true;
  if (info === undefined) return false;
  if (info.state === 'Z' || info.state === 'X' || info.state === 'x') return true;
  return owner.start !== '' && info.start !== owner.start;
}

/** Whether the run that holds the lock (as the store names it) is a dead process of this host. */
export async function isHolderGone(holder: string): Promise<boolean> {
  const owner = parseLockOwner(holder);
  if (owner === undefined) return false;
  return isOwnerGone(owner, hostname(), processAnswers(owner.pid), await readProcessInfo(owner.pid));
}
