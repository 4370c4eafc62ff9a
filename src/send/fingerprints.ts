// A set of strings kept as 128-bit SHA-256 digests in a typed array: the duplicate check of a million-row list in 32 MB.

import { hash } from 'node:crypto';

/**
 * Open addressing over four 32-bit lanes per slot, off the JavaScript heap: a Set of a million address
 * strings costs ~76 MB of heap (and far more at the garbage collector's peak); this costs 16 bytes a slot
 * at half load. The lanes are the first 128 bits of SHA-256 of the key: a false match, which would drop a
 * subscriber as a duplicate, needs a collision of a cryptographic digest (about n²/2¹²⁹, 10⁻²⁷ for a
 * million keys) — it cannot be produced on purpose, unlike with a fast non-cryptographic hash.
 */
export class FingerprintSet {
  #slots: Uint32Array;
  #mask: number;
  #size = 0;

  constructor(initialCapacity = 1 << 12) {
    let capacity = 1;
    while (capacity < initialCapacity) capacity *= 2;
    this.#slots = new Uint32Array(capacity * 4);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#size;
  }

  has(key: string): boolean {
    return this.#find(fingerprint(key)) >= 0;
  }

  /** Adds the key; false when it was there already. */
  add(key: string): boolean {
    const print = fingerprint(key);
    if (this.#find(print) >= 0) return false;
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    this.#insert(print, 0);
    this.#size += 1;
    return true;
  }

  #find(print: Uint32Array): number {
    const slots = this.#slots;
    const [a = 0, b = 0, c = 0, d = 0] = print;
    for (let slot = a & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const at = slot * 4;
      if (isFree(slots, at)) return -1;
      if (slots[at] === a && slots[at + 1] === b && slots[at + 2] === c && slots[at + 3] === d) return slot;
    }
  }

  /** Copies the four lanes at `from` of `print` into a free slot. */
  #insert(print: Uint32Array, from: number): void {
    const slots = this.#slots;
    let slot = (print[from] ?? 0) & this.#mask;
    while (!isFree(slots, slot * 4)) slot = (slot + 1) & this.#mask;
    slots.set(print.subarray(from, from + 4), slot * 4);
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(old.length * 2);
    this.#mask = (this.#mask + 1) * 2 - 1;
    for (let at = 0; at < old.length; at += 4) if (!isFree(old, at)) this.#insert(old, at);
  }
}

/** A slot of four zero lanes is free: no key has an all-zero 128-bit digest prefix in practice. */
function isFree(slots: Uint32Array, at: number): boolean {
  return slots[at] === 0 && slots[at + 1] === 0 && slots[at + 2] === 0 && slots[at + 3] === 0;
}

/** The first 128 bits of SHA-256 of the key's UTF-8, as four 32-bit lanes. */
export function fingerprint(key: string): Uint32Array {
  const digest = hash('sha256', key, 'buffer');
  return Uint32Array.of(
    digest.readUInt32LE(0),
    digest.readUInt32LE(4),
    digest.readUInt32LE(8),
    digest.readUInt32LE(12),
  );
}
