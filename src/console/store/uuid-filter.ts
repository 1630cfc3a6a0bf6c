/**
 * Scalable Bloom filter over event uuids, kept by the SQLite store's inserting
 * connection. It replaces a unique B-tree index on the (random) uuid, which cost
 * one random page write per stored event: "definitely not stored" answers skip
 * any lookup; "maybe stored" (a real duplicate, or a false positive, < 1 %) is
 * checked against the FTS5 uuid column. It may hold uuids deleted since (a
 * superset is safe: the check decides), never miss a stored one.
 */
const BITS_PER_ITEM = 10; // with K = 7: about 0.8 % false positives per slice
const K = 7;

interface Slice {
  bits: Uint32Array;
  mask: number;
  capacity: number;
  n: number;
}

function slice(capacity: number): Slice {
  let m = 1024;
  while (m < capacity * BITS_PER_ITEM) m *= 2;
  return { bits: new Uint32Array(m / 32), mask: m - 1, capacity, n: 0 };
}

export class UuidFilter {
  private slices: Slice[];
  private h1 = 0;
  private h2 = 0;

  constructor(expected = 1 << 20) {
    this.slices = [slice(Math.max(1024, expected))];
  }

  /** Two independent 32-bit FNV-1a style hashes of `s` into h1/h2. */
  private hash(s: string): void {
    let a = 0x811c9dc5;
    let b = 0x01000193 ^ 0x5bd1e995;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 16777619);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    a ^= a >>> 13;
    a = Math.imul(a, 0xc2b2ae35);
    a ^= a >>> 16;
    this.h1 = a >>> 0;
    this.h2 = (b | 1) >>> 0;
  }

  add(uuid: string): void {
    let s = this.slices[this.slices.length - 1]!;
    if (s.n >= s.capacity) {
      s = slice(s.capacity * 2);
      this.slices.push(s);
    }
    this.hash(uuid);
    for (let i = 0; i < K; i++) {
      const bit = (this.h1 + Math.imul(i, this.h2)) & s.mask;
      s.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    s.n++;
  }

  /** False: never added. True: probably added. */
  mayHave(uuid: string): boolean {
    this.hash(uuid);
    for (const s of this.slices) {
      let all = true;
      for (let i = 0; i < K && all; i++) {
        const bit = (this.h1 + Math.imul(i, this.h2)) & s.mask;
        all = (s.bits[bit >>> 5]! & (1 << (bit & 31))) !== 0;
      }
      if (all) return true;
    }
    return false;
  }

  /** Items added. */
  get size(): number {
    let n = 0;
    for (const s of this.slices) n += s.n;
    return n;
  }

  /** Bytes of filter memory. */
  get bytes(): number {
    let n = 0;
    for (const s of this.slices) n += s.bits.byteLength;
    return n;
  }
}
