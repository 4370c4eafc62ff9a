// Durable files of the private send state (the outbox): atomic whole-file writes, and what a failed write means.

import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';

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
