// Durable files of the private send state: atomic whole-file writes, append-only logs with group commit, line readers.

import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

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
    await mkdir(path.dirname(file), { recursive: true });
    const temp = tempName(file);
    return new AtomicFile(file, temp, await open(temp, 'w', 0o600));
  }

  /** Buffers the text; only every megabyte or so returns a promise (of the write), so a tight loop allocates none. */
  write(text: string): Promise<void> | undefined {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (this.#used + bytes <= this.#buffer.length) {
      this.#used += this.#buffer.write(text, this.#used, 'utf8');
      return undefined;
    }
    return this.#flush().then(() =>
      bytes > this.#buffer.length ? writeAll(this.#handle, Buffer.from(text, 'utf8')) : this.write(text),
    );
  }

  async #flush(): Promise<void> {
    const used = this.#used;
    this.#used = 0;
    await writeAll(this.#handle, this.#buffer.subarray(0, used));
  }

  async commit(): Promise<void> {
    await this.#flush();
    await this.#handle.sync();
    await this.#handle.close();
    await rename(this.#temp, this.file);
    await syncDirectory(path.dirname(this.file));
  }

  async abort(): Promise<void> {
    await this.#handle.close().catch(() => undefined);
    await rm(this.#temp, { force: true });
  }
}

export async function writeFileAtomic(file: string, content: string | Buffer): Promise<void> {
  const writer = await AtomicFile.create(file);
  try {
    await writer.write(typeof content === 'string' ? content : content.toString('utf8'));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Writes binary content atomically (the outbox's .eml files are bytes, not text). */
export async function writeBytesAtomic(file: string, content: Uint8Array): Promise<void> {
  const temp = tempName(file);
  const handle = await open(temp, 'w', 0o600);
  try {
    await writeAll(handle, Buffer.from(content.buffer, content.byteOffset, content.byteLength));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
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

  private constructor(file: string, handle: FileHandle) {
    this.file = file;
    this.#handle = handle;
  }

  /** Opens (or creates) the log; a torn last line left by a crash is cut off so the next line starts clean. */
  static async open(file: string): Promise<AppendLog> {
    await mkdir(path.dirname(file), { recursive: true });
    const handle = await open(file, 'a+', 0o600);
    try {
      const { size } = await handle.stat();
      if (size === 0) {
        await syncDirectory(path.dirname(file));
      } else {
        const end = await findLastNewline(handle, size);
        if (end !== size) {
          await handle.truncate(end);
          await handle.sync();
        }
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new AppendLog(file, handle);
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
        await writeAll(this.#handle, Buffer.from(lines.join(''), 'utf8'));
        await this.#handle.datasync();
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        this.#failure ??= error;
        for (const waiter of waiters) waiter.reject(error);
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

async function findLastNewline(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const index = chunk.subarray(0, bytesRead).lastIndexOf(10);
    if (index !== -1) return start + index + 1;
    end = start;
  }
  return 0;
}

/** JSON text as a value for a schema to check; undefined when it is not JSON at all (a torn or foreign file). */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export interface Line {
  readonly text: string;
  /** 1-based. */
  readonly number: number;
}

/**
 * Streams the complete lines of a file. A last line without its newline is a write cut short by a
 * crash (or still being written by a running send): it is reported through `torn`, never yielded.
 */
export async function* readLines(file: string, torn?: (text: string) => void): AsyncGenerator<Line> {
  let rest = '';
  let number = 0;
  // Small chunks: the lines of a chunk live until the consumer is through them, and fewer of them then
  // survive into the old generation of the heap.
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 16 * 1024 })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop() ?? '';
    for (const text of parts) {
      number += 1;
      yield { text, number };
    }
  }
  if (rest !== '') torn?.(rest);
}
