// The send lock: one running send per article, taken with O_EXCL, recognised as stale once its owner is gone.

import { link, mkdir, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { parseJsonLine } from './files.ts';

const ownerSchema = z.object({
  pid: z.number().int().positive(),
  nonce: z.string().min(8),
  host: z.string(),
  startedAt: z.string(),
  /** Field 22 of /proc/<pid>/stat: tells a reused pid from the process that took the lock. */
  processStart: z.string().optional(),
});

export type LockOwner = z.output<typeof ownerSchema>;

/** The lock file's mtime is refreshed this often; owners on another host are judged by it alone. */
export const HEARTBEAT_MS = 10_000;
export const STALE_AFTER_MS = 60_000;
/** A lock file still empty after this long belongs to a process that died while creating it. */
const CREATING_GRACE_MS = 5_000;

export interface ProcessInfo {
  /** 'Z' for a zombie: a killed process whose parent has not reaped it yet still answers kill(pid, 0). */
  readonly state: string;
  readonly start: string;
}

/** Reads /proc/<pid>/stat (Linux); undefined where there is no /proc or no such process. */
export async function readProcessInfo(pid: number | 'self'): Promise<ProcessInfo | undefined> {
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

export interface LockEvidence {
  readonly owner: LockOwner;
  /** Age of the lock file's last heartbeat. */
  readonly heartbeatAgeMs: number;
  readonly host: string;
  readonly answers: boolean;
  readonly info: ProcessInfo | undefined;
}

/** Pure: decides from the evidence whether the owner of a lock still runs. */
export function isLockStale(evidence: LockEvidence): boolean {
  const { owner, info } = evidence;
  if (owner.host !== evidence.host) return evidence.heartbeatAgeMs > STALE_AFTER_MS;
  if (!evidence.answers) return true;
  if (info !== undefined) {
    if (info.state === 'Z' || info.state === 'X' || info.state === 'x') return true;
    if (owner.processStart !== undefined) return info.start !== owner.processStart;
    return false;
  }
  // No /proc (macOS): a live pid may have been reused by an unrelated process; a silent heartbeat says so.
  return evidence.heartbeatAgeMs > STALE_AFTER_MS;
}

export interface Lock {
  readonly file: string;
  /** Set when a stale lock of a dead run was taken over: that run's last messages have unknown outcomes. */
  readonly tookOver: LockOwner | undefined;
  release(): Promise<void>;
}

async function readOwner(file: string): Promise<{ owner: LockOwner | undefined; ageMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    return { owner: parseJsonLine(ownerSchema, text.trim()), ageMs: Date.now() - info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function tryCreate(file: string, owner: LockOwner): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(`${JSON.stringify(owner)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

async function judgeStale(found: { owner: LockOwner | undefined; ageMs: number }): Promise<boolean> {
  if (found.owner === undefined) return found.ageMs > CREATING_GRACE_MS;
  return isLockStale({
    owner: found.owner,
    heartbeatAgeMs: found.ageMs,
    host: hostname(),
    answers: processAnswers(found.owner.pid),
    info: await readProcessInfo(found.owner.pid),
  });
}

/** For `kurier status`: who holds the lock, and whether that run is still alive. */
export async function readLockState(
  file: string,
): Promise<{ owner: LockOwner | undefined; running: boolean } | undefined> {
  const found = await readOwner(file);
  if (found === undefined) return undefined;
  return { owner: found.owner, running: !(await judgeStale(found)) };
}

export interface LockOptions {
  readonly now: Date;
  /** Random, distinguishes this run from an earlier one with the same pid. */
  readonly nonce: string;
  /** What to tell the user the lock protects, e.g. the article's slug. */
  readonly what: string;
}

/**
 * Takes the lock or throws SEND_LOCKED. A lock whose owner is dead (exited, killed, a zombie, or a pid
 * now used by another process) is moved aside and taken over; moving it with rename first means two
 * runs that both found it stale cannot both take it.
 */
export async function acquireLock(file: string, options: LockOptions): Promise<Lock> {
  const self = await readProcessInfo('self');
  const owner: LockOwner = {
    pid: process.pid,
    nonce: options.nonce,
    host: hostname(),
    startedAt: options.now.toISOString(),
    ...(self === undefined ? {} : { processStart: self.start }),
  };
  let tookOver: LockOwner | undefined;
  await mkdir(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 5; attempt += 1) {
    if (await tryCreate(file, owner)) return startHeartbeat(file, owner, tookOver);
    const found = await readOwner(file);
    if (found === undefined) continue;
    const stale = await judgeStale(found);
    if (!stale) {
      const who =
        found.owner === undefined
          ? 'another run'
          : `process ${found.owner.pid} (since ${found.owner.startedAt})`;
      throw new KurierError(
        'SEND_LOCKED',
        `${options.what} is being sent by ${who}; wait for it to finish (kurier status shows its progress) or stop it. A run that was killed releases the lock by itself.`,
        { file },
      );
    }
    const aside = `${file}.stale.${options.nonce}`;
    try {
      await rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = await readOwner(aside);
    if (moved?.owner?.nonce !== found.owner?.nonce) {
      // Between our look and the rename another run replaced the stale lock with its own: give it back
      // (link, unlike rename, never replaces a lock that appeared in the meantime).
      await link(aside, file).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      await rm(aside, { force: true });
      continue;
    }
    await rm(aside, { force: true });
    tookOver = found.owner;
  }
  throw new KurierError('SEND_LOCKED', `could not take the send lock of ${options.what}; try again.`, {
    file,
  });
}

function startHeartbeat(file: string, owner: LockOwner, tookOver: LockOwner | undefined): Lock {
  const timer = setInterval(() => {
    const now = new Date();
    utimes(file, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    file,
    tookOver,
    async release() {
      clearInterval(timer);
      const found = await readOwner(file);
      if (found?.owner?.nonce === owner.nonce) await rm(file, { force: true });
    },
  };
}
