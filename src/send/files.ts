// Durable files of the private send state: atomic whole-file writes, append-only logs with group commit, line readers.

import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import type { z } from '../schema.ts';

let tempCounter = 0;

function tempName(file: string): string {
  tempCounter += 1;
  return `${file}.${process.pid}.${tempCounter}.tmp`;
}

/** After a rename or a new file, the directory entry itself must reach the disk too (fsync(2), NOTES). */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Windows cannot open a directory; its rename is durable enough for our purpose.
    if (
      (error as NodeJS.ErrnoException).code !== 'EISDIR' &&
      (error as NodeJS.ErrnoException).code !== 'EPERM'
    ) {
      throw error;
    }
  } finally {
    await handle?.close();
  }
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/** A file written in pieces that appears under its name only when complete (temp file, fsync, rename). */
export class AtomicFile {
  readonly file: string;
  readonly #temp: string;
  readonly #handle: FileHandle;
  // Text is encoded into this buffer right away: strings held until a flush would outlive the young
  // generation, and a million of them is what makes the heap of a big freeze grow.
  readonly #buffer = Buffer.allocUnsafe(1 << 20);
  #used = 0;

  private constructor(file: string, temp: string, handle: FileHandle) {
    this.file = file;
    this.#temp = temp;
    this.#handle = handle;
  }

  static async create(file: string): Promise<AtomicFile> {
    const temp = tempName(file);
    try {
      await mkdir(path.dirname(file), { recursive: true });
      return new AtomicFile(file, temp, await open(temp, 'w', 0o600));
    } catch (error) {
      throw stateWriteError(error, file);
    }
  }

  /** Buffers the text; only every megabyte or so returns a promise (of the write), so a tight loop allocates none. */
  write(text: string): Promise<void> | undefined {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (this.#used + bytes <= this.#buffer.length) {
      this.#used += this.#buffer.write(text, this.#used, 'utf8');
      return undefined;
    }
    return this.#flush().then(() =>
      bytes > this.#buffer.length
        ? this.#writeAll(Buffer.from(text, 'utf8'))
        : (this.write(text) ?? Promise.resolve()),
    );
  }

  /** Writes bytes as they are (an .eml file is bytes, not text). */
  async writeBytes(data: Uint8Array): Promise<void> {
    await this.#flush();
    await this.#writeAll(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  async #writeAll(data: Buffer): Promise<void> {
    try {
      await writeAll(this.#handle, data);
    } catch (error) {
      throw stateWriteError(error, this.file);
    }
  }

  async #flush(): Promise<void> {
    const used = this.#used;
    this.#used = 0;
    await this.#writeAll(this.#buffer.subarray(0, used));
  }

  async commit(): Promise<void> {
    await this.#flush();
    try {
      await this.#handle.sync();
      await this.#handle.close();
      await rename(this.#temp, this.file);
      await syncDirectory(path.dirname(this.file));
    } catch (error) {
      throw stateWriteError(error, this.file);
    }
  }

  async abort(): Promise<void> {
    await this.#handle.close().catch(() => undefined);
    await rm(this.#temp, { force: true });
  }
}

/** Writes a whole file durably: it appears under its name complete, or not at all. */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const writer = await AtomicFile.create(file);
  try {
    if (typeof content === 'string') await writer.write(content);
    else await writer.writeBytes(content);
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * An append-only log whose lines are durable when `append` resolves. Group commit: lines that arrive
 * while an fsync runs are written and synced together by the next one, so a thousand appends a second
 * cost a few fsyncs, not a thousand.
 */
export class AppendLog {
  readonly file: string;
  readonly #handle: FileHandle;
  #queue: string[] = [];
  #waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #draining: Promise<void> | undefined;
  #failure: unknown;
  #unterminated = false;

  private constructor(file: string, handle: FileHandle) {
    this.file = file;
    this.#handle = handle;
  }

  /**
   * Opens (or creates) the log. Nothing is ever cut off: a last line without its newline (a person's edit,
   * or a write cut short by a crash) is kept, and the first append starts with a newline so it stays a
   * line of its own; the readers decide what such a line means.
   */
  static async open(file: string): Promise<AppendLog> {
    try {
      await mkdir(path.dirname(file), { recursive: true });
    } catch (error) {
      throw stateWriteError(error, path.dirname(file));
    }
    let handle: FileHandle;
    try {
      handle = await open(file, 'a+', 0o600);
    } catch (error) {
      throw stateWriteError(error, file);
    }
    let unterminated = false;
    try {
      const { size } = await handle.stat();
      if (size === 0) await syncDirectory(path.dirname(file));
      else unterminated = !(await endsWithNewline(handle, size));
    } catch (error) {
      await handle.close();
      throw stateWriteError(error, file);
    }
    const log = new AppendLog(file, handle);
    log.#unterminated = unterminated;
    return log;
  }

  append(line: string): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#queue.push(`${line}\n`);
      this.#waiters.push({ resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const lines = this.#queue.splice(0);
      const waiters = this.#waiters.splice(0);
      try {
        if (this.#failure !== undefined) throw this.#failure;
        const text = (this.#unterminated ? '\n' : '') + lines.join('');
        await writeAll(this.#handle, Buffer.from(text, 'utf8'));
        this.#unterminated = false;
        await this.#handle.datasync();
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        this.#failure ??= stateWriteError(error, this.file);
        for (const waiter of waiters) waiter.reject(this.#failure);
      }
    }
    this.#draining = undefined;
  }

  /** Waits until everything appended so far is durable, then closes the file. */
  async close(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
    await this.#handle.close();
  }
}

async function endsWithNewline(handle: FileHandle, size: number): Promise<boolean> {
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  return last[0] === 10;
}

/** JSON text as a value for a schema to check; undefined when it is not JSON at all (a torn or foreign file). */
function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** One line of a JSON-lines file checked against its schema: the value, or undefined when it is not one. */
export function parseJsonLine<T>(schema: z.ZodType<T>, text: string): T | undefined {
  const parsed = schema.safeParse(parseJsonOrUndefined(text));
  return parsed.success ? parsed.data : undefined;
}

/**
 * A JSON-lines file of the private state (the send journal, the suppression list): each `append`
 * resolves once its record is on disk.
 */
export class JsonLinesLog<T> {
  readonly #log: AppendLog;

  private constructor(log: AppendLog) {
    this.#log = log;
  }

  static async open<T>(file: string): Promise<JsonLinesLog<T>> {
    return new JsonLinesLog<T>(await AppendLog.open(file));
  }

  get file(): string {
    return this.#log.file;
  }

  append(record: T): Promise<void> {
    return this.#log.append(JSON.stringify(record));
  }

  close(): Promise<void> {
    return this.#log.close();
  }
}

export interface Line {
  readonly text: string;
  /** 1-based. */
  readonly number: number;
  /**
   * False only for a last line without its newline: a person's edit that lacks it, or a write cut short
   * by a crash (or still being written by a running send). Each reader decides what it means.
   */
  readonly terminated: boolean;
}

/** Streams the lines of a UTF-8 file; bytes that are not UTF-8 throw STATE_INVALID naming the line. */
export async function* readLines(file: string, displayName = file): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (bytes: Uint8Array, number: number): string => {
    try {
      return decoder.decode(bytes);
    } catch (error) {
      throw new KurierError(
        'STATE_INVALID',
        'this line is not valid UTF-8 text; save the file as UTF-8 (or remove the line).',
        { file: displayName, line: number, cause: error },
      );
    }
  };
  let rest: Buffer = Buffer.alloc(0);
  let number = 0;
  // Small chunks: the lines of a chunk live until the consumer is through them, and fewer of them then
  // survive into the old generation of the heap.
  for await (const chunk of createReadStream(file, { highWaterMark: 16 * 1024 })) {
    const bytes: Buffer = rest.length === 0 ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
    let start = 0;
    for (let end = bytes.indexOf(10); end !== -1; end = bytes.indexOf(10, start)) {
      number += 1;
      yield { text: decode(bytes.subarray(start, end), number), number, terminated: true };
      start = end + 1;
    }
    rest = bytes.subarray(start);
  }
  if (rest.length > 0) yield { text: decode(rest, number + 1), number: number + 1, terminated: false };
}

/** An fs error of the state folder (disk full, read-only, no permission) as what it means for the user. */
export function stateWriteError(error: unknown, file: string): unknown {
  if (error instanceof KurierError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const advice: Readonly<Record<string, string>> = {
    ENOSPC: 'the disk is full; free some space',
    EDQUOT: 'the disk quota is used up; free some space',
    EROFS: 'the file system is read-only; point --state or KURIER_STATE_DIR at a writable folder',
    EACCES: 'permission denied; make the state folder writable for this user',
    EPERM: 'permission denied; make the state folder writable for this user',
  };
  const what = code === undefined ? undefined : advice[code];
  if (what === undefined) return error;
  return new KurierError(
    'STATE_UNWRITABLE',
    `cannot write the private state (${code}): ${what}. Nothing was lost: what was recorded stays, and kurier publish continues from there.`,
    { file: (error as NodeJS.ErrnoException).path ?? file, cause: error },
  );
}
