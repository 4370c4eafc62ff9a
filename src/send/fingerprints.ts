// A set of strings kept as 96-bit fingerprints in a typed array: the duplicate check of a million-row list in 24 MB.

/**
 * Open addressing over three 32-bit lanes per slot, off the JavaScript heap: a Set of a million address
 * strings costs ~76 MB of heap (and far more at the garbage collector's peak); this costs 12 bytes a slot
 * at half load. Two different addresses share a fingerprint with a probability of about n²/2⁹⁶
 * (10⁻¹⁷ for a million): far below the chance of a disk error, so a hit is taken as a duplicate.
 */
export class FingerprintSet {
  #slots: Uint32Array;
  #mask: number;
  #size = 0;

  constructor(initialCapacity = 1 << 12) {
    let capacity = 1;
    while (capacity < initialCapacity) capacity *= 2;
    this.#slots = new Uint32Array(capacity * 3);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#size;
  }

  has(key: string): boolean {
    const [a, b, c] = fingerprint(key);
    return this.#find(a, b, c) >= 0;
  }

  /** Adds the key; false when it was there already. */
  add(key: string): boolean {
    const [a, b, c] = fingerprint(key);
    if (this.#find(a, b, c) >= 0) return false;
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    this.#insert(a, b, c);
    this.#size += 1;
    return true;
  }

  #find(a: number, b: number, c: number): number {
    const slots = this.#slots;
    for (let slot = a & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const at = slot * 3;
      const first = slots[at] ?? 0;
      if (first === 0) return -1;
      if (first === a && slots[at + 1] === b && slots[at + 2] === c) return slot;
    }
  }

  #insert(a: number, b: number, c: number): void {
    const slots = this.#slots;
    let slot = a & this.#mask;
    while ((slots[slot * 3] ?? 0) !== 0) slot = (slot + 1) & this.#mask;
    slots[slot * 3] = a;
    slots[slot * 3 + 1] = b;
    slots[slot * 3 + 2] = c;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(old.length * 2);
    this.#mask = (this.#mask + 1) * 2 - 1;
    for (let at = 0; at < old.length; at += 3) {
      const a = old[at] ?? 0;
      if (a !== 0) this.#insert(a, old[at + 1] ?? 0, old[at + 2] ?? 0);
    }
  }
}

function mix(h: number): number {
  // MurmurHash3's fmix32 finaliser: every input bit affects every output bit.
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Three independently seeded 32-bit hashes of the UTF-16 code units; lane a is never 0 (0 marks a free slot). */
export function fingerprint(key: string): [number, number, number] {
  let a = 0x9747b28c;
  let b = 0x3c6ef372;
  let c = 0xa54ff53a;
  for (let i = 0; i < key.length; i += 1) {
    const unit = key.charCodeAt(i);
    a = Math.imul(a ^ unit, 0x5bd1e995);
    a ^= a >>> 15;
    b = Math.imul(b ^ unit, 0x01000193);
    b = (b << 13) | (b >>> 19);
    c = Math.imul(c + unit, 0xcc9e2d51);
    c ^= c >>> 17;
  }
  const length = key.length;
  return [
    (mix(a ^ length) | 1) >>> 0,
    mix(b + Math.imul(length, 0x27d4eb2f)),
    mix(c ^ Math.imul(length, 0x165667b1)),
  ];
}
