/**
 * The LZ4 frame decoder (src/io/lz4.ts) and xxHash32 (src/io/xxhash32.ts).
 *
 * The frames in fixtures/formats/lz4 were written by the lz4 package (the
 * reference C library) with one flag changed at a time; each must decode to
 * its plaintext. Corrupt, truncated and unsupported frames must throw an
 * Error that says what is wrong and where, and a fuzz loop must never hang or
 * allocate beyond what the headers allow.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decompressLz4 } from '../../src/io/lz4.js';
import { xxh32 } from '../../src/io/xxhash32.js';
import { FIXTURES } from '../helpers/cli.js';
import { mulberry32 } from '../helpers/random.js';

const DIR = path.join(FIXTURES, 'formats');

interface FrameFixture {
  file: string;
  plaintext: [string, number, number][];
  length: number;
  flg: number;
  bd: number;
  notes: string;
}

const FRAMES = (JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { lz4_frames: FrameFixture[] }).lz4_frames;

function bytesOf(name: string): Uint8Array {
  const b = readFileSync(path.join(DIR, name));
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

function plaintextOf(f: FrameFixture): Uint8Array {
  const out = new Uint8Array(f.length);
  let at = 0;
  for (const [file, from, to] of f.plaintext) {
    out.set(bytesOf(path.join('lz4', file)).subarray(from, to), at);
    at += to - from;
  }
  expect(at).toBe(f.length);
  return out;
}

function frame(name: string): Uint8Array {
  return bytesOf(path.join('lz4', name));
}

function fixture(name: string): FrameFixture {
  const f = FRAMES.find((x) => x.file === `lz4/${name}`);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
}

/** First byte that differs, or -1: a readable failure instead of a 90000-element diff. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function expectBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  expect(firstDifference(got, want), `${what}: first differing byte`).toBe(-1);
}

/** Header length of the frame at 0 (magic, FLG, BD, optional size and dictionary ID, HC). */
function headerLength(f: Uint8Array): number {
  return 7 + (f[4] & 0x08 ? 8 : 0) + (f[4] & 0x01 ? 4 : 0);
}

/** Recomputes the header checksum byte after the descriptor was edited. */
function fixHeaderChecksum(f: Uint8Array): Uint8Array {
  const hc = headerLength(f) - 1;
  f[hc] = (xxh32(f.subarray(4, hc)) >>> 8) & 0xff;
  return f;
}

/** Positions of each block of the frame at 0: header position, data start, size, stored flag. */
function blocks(f: Uint8Array): { at: number; data: number; size: number; stored: boolean }[] {
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const checksum = (f[4] & 0x10) !== 0;
  const out = [];
  let p = headerLength(f);
  for (;;) {
    const word = dv.getUint32(p, true);
    if (word === 0) return out;
    const size = word & 0x7fffffff;
    out.push({ at: p, data: p + 4, size, stored: word >>> 31 === 1 });
    p += 4 + size + (checksum ? 4 : 0);
  }
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`threw a non-Error: ${String(err)}`);
  }
  throw new Error('expected an error, nothing was thrown');
}

// ---------------------------------------------------------------------------

describe('xxHash32', () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  it('published values', () => {
    expect(xxh32(enc(''))).toBe(0x02cc5d05);
    expect(xxh32(enc('a'))).toBe(0x550d7456);
    expect(xxh32(enc('abc'))).toBe(0x32d153ff);
    expect(xxh32(enc('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f);
  });

  // Computed with the python `xxhash` package (bindings to the reference C
  // library) over bytes (i * 131 + 17) & 255: every tail length, 1 to 4096
  // stripes, and seeds that overflow the accumulators.
  const vectors: [number, number, number][] = [
    [0, 0x00000000, 0x02cc5d05], [0, 0x00000001, 0x0b2cb792], [0, 0x9e3779b1, 0x36b78ae7], [0, 0xffffffff, 0x9061da9d],
    [1, 0x00000000, 0xb804f774], [1, 0x00000001, 0x32812d35], [1, 0x9e3779b1, 0x30337151], [1, 0xffffffff, 0xdc9c5eee],
    [3, 0x00000000, 0x3c015509], [3, 0x00000001, 0x86227356], [3, 0x9e3779b1, 0x88d28b8d], [3, 0xffffffff, 0x12362017],
    [4, 0x00000000, 0xd0153a01], [4, 0x00000001, 0x43dfb59d], [4, 0x9e3779b1, 0x17de7531], [4, 0xffffffff, 0x52fea6c4],
    [5, 0x00000000, 0x0b10c115], [5, 0x00000001, 0x1162efbb], [5, 0x9e3779b1, 0x91fa87e0], [5, 0xffffffff, 0x5a250773],
    [15, 0x00000000, 0x42af9544], [15, 0x00000001, 0xefd30c6c], [15, 0x9e3779b1, 0xf0f2dcce], [15, 0xffffffff, 0x8457a900],
    [16, 0x00000000, 0x0a6e1a7a], [16, 0x00000001, 0x142bd510], [16, 0x9e3779b1, 0xae6d2732], [16, 0xffffffff, 0xe521c37a],
    [17, 0x00000000, 0xed62ab64], [17, 0x00000001, 0x48e8df44], [17, 0x9e3779b1, 0xa55376ed], [17, 0xffffffff, 0x1ae4e1c4],
    [31, 0x00000000, 0xb6ddb49d], [31, 0x00000001, 0x3d2065e9], [31, 0x9e3779b1, 0x35e9c2f1], [31, 0xffffffff, 0x4cde5fd1],
    [32, 0x00000000, 0x4c951d46], [32, 0x00000001, 0x6106bda7], [32, 0x9e3779b1, 0xc181023f], [32, 0xffffffff, 0xf53ac1f0],
    [33, 0x00000000, 0xd1805703], [33, 0x00000001, 0x83246b70], [33, 0x9e3779b1, 0x5da91195], [33, 0xffffffff, 0x9e70e072],
    [64, 0x00000000, 0x1d5e36d1], [64, 0x00000001, 0x2a09ba52], [64, 0x9e3779b1, 0x6a788dfe], [64, 0xffffffff, 0x89af29e6],
    [100, 0x00000000, 0xf7dd128c], [100, 0x00000001, 0x519e0fd8], [100, 0x9e3779b1, 0xe00a3cbf], [100, 0xffffffff, 0x0fcdf721],
    [1000, 0x00000000, 0x534acf0f], [1000, 0x00000001, 0x74dae9ef], [1000, 0x9e3779b1, 0x46a5c0ce], [1000, 0xffffffff, 0x67dcf124],
    [65536, 0x00000000, 0xb469237c], [65536, 0x00000001, 0xed2a56bb], [65536, 0x9e3779b1, 0x7bbd3a4f], [65536, 0xffffffff, 0x302a1cfb],
  ];
  it.each(vectors)('%i bytes, seed %i', (n, seed, want) => {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = (i * 131 + 17) & 255;
    expect(xxh32(data, seed)).toBe(want);
  });

  it('reads a view at any byte offset', () => {
    const data = new Uint8Array(1003);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 17) & 255;
    const shifted = new Uint8Array(1003 + 3);
    shifted.set(data, 3);
    expect(xxh32(shifted.subarray(3))).toBe(xxh32(data));
  });
});

// ---------------------------------------------------------------------------

describe('frames written by the lz4 library decode to their plaintext', () => {
  it('the fixtures cover every flag both ways', () => {
    const flgs = FRAMES.map((f) => f.flg);
    for (const bit of [0x20, 0x10, 0x08, 0x04]) {
      expect(flgs.some((x) => x & bit), `FLG bit 0x${bit.toString(16)} set`).toBe(true);
      expect(flgs.some((x) => !(x & bit)), `FLG bit 0x${bit.toString(16)} clear`).toBe(true);
    }
    expect(FRAMES.map((f) => f.bd)).toEqual(expect.arrayContaining([0x40, 0x70]));
    // what the file says is what expected.json says
    for (const f of FRAMES) {
      const b = bytesOf(f.file);
      const at = f.file.includes('skippable') ? 16 : 0;
      expect([b[at + 4], b[at + 5]], f.file).toEqual([f.flg, f.bd]);
    }
  });

  for (const f of FRAMES) {
    it(`${f.file}: ${f.notes}`, () => {
      const src = bytesOf(f.file);
      const want = plaintextOf(f);
      expectBytes(decompressLz4(src), want, f.file);
      // a size hint only sizes the output: exact, too small, too large
      expectBytes(decompressLz4(src, { sizeHint: want.length }), want, `${f.file} (exact hint)`);
      expectBytes(decompressLz4(src, { sizeHint: 10 }), want, `${f.file} (small hint)`);
      expectBytes(decompressLz4(src, { sizeHint: 10_000_000 }), want, `${f.file} (large hint)`);
    });
  }

  it('the stored block really is stored raw, and a linked frame has several blocks', () => {
    expect(blocks(frame('stored_block.lz4')).map((b) => b.stored)).toEqual([false, true]);
    expect(blocks(frame('linked.lz4')).length).toBe(2);
  });

  it('linked blocks use the previous block: the same frame marked independent is refused', () => {
    for (const name of ['linked.lz4', 'linked_checksums.lz4', 'linked_content_checksum_size.lz4']) {
      const f = frame(name);
      expect(f[4] & 0x20).toBe(0);
      f[4] |= 0x20;
      expect(() => decompressLz4(fixHeaderChecksum(f))).toThrow(/LZ4 frame: block 2: a match at output byte \d+ of the block reaches back \d+ bytes, before the start of the block/);
    }
  });

  it('all four block maximum sizes (256 KiB and 1 MiB: the 64 KiB frame relabelled)', () => {
    const want = plaintextOf(fixture('linked.lz4'));
    for (const code of [4, 5, 6, 7]) {
      const f = frame('linked.lz4');
      f[5] = code << 4;
      expectBytes(decompressLz4(fixHeaderChecksum(f)), want, `BD code ${code}`);
    }
  });

  it('a 4 MiB frame relabelled 64 KiB: its block decompresses to more than the maximum', () => {
    const f = frame('block4mb_checksum.lz4');
    expect(plaintextOf(fixture('block4mb_checksum.lz4')).length).toBeGreaterThan(65536);
    f[5] = 0x40;
    expect(() => decompressLz4(fixHeaderChecksum(f))).toThrow(/^LZ4 frame: block 1 decompresses to more than 65536 bytes \(corrupt block\)$/);
  });

  it('several frames concatenate; frames may not reach into the previous frame', () => {
    const a = frame('linked.lz4');
    const two = new Uint8Array(a.length * 2);
    two.set(a);
    two.set(a, a.length);
    const want = plaintextOf(fixture('linked.lz4'));
    const got = decompressLz4(two);
    expectBytes(got.subarray(0, want.length), want, 'first frame');
    expectBytes(got.subarray(want.length), want, 'second frame');
  });
});

// ---------------------------------------------------------------------------

describe('corrupt, truncated and unsupported frames throw a precise Error', () => {
  it('a corrupt byte in a block: block checksum mismatch, naming the block', () => {
    const f = frame('linked_checksums.lz4');
    const [b1, b2] = blocks(f);
    const one = f.slice();
    one[b1.data + 100] ^= 0x01;
    expect(() => decompressLz4(one)).toThrow(/^LZ4 frame: block checksum mismatch in block 1 \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)$/);
    const two = f.slice();
    two[b2.data + b2.size - 1] ^= 0x80;
    expect(() => decompressLz4(two)).toThrow(/^LZ4 frame: block checksum mismatch in block 2 /);
    const stored = frame('stored_block.lz4');
    const raw = blocks(stored)[1];
    stored[raw.data + 7] ^= 0xff;
    expect(() => decompressLz4(stored)).toThrow(/block checksum mismatch in block 2/);
  });

  it('a block checksum in the second of two frames names the frame', () => {
    const f = frame('concatenated.lz4');
    f[f.length - 20] ^= 0x04; // inside the second frame's only block (its checksum and the end mark follow)
    expect(() => decompressLz4(f)).toThrow(/^LZ4 frame: block checksum mismatch in block 1 of frame 2 /);
  });

  it('content checksum mismatch', () => {
    const f = frame('linked_content_checksum_size.lz4');
    f[f.length - 1] ^= 0x10;
    expect(() => decompressLz4(f)).toThrow(/^LZ4 frame: content checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\): the decompressed data is corrupt$/);
    // a changed literal: no block checksum here, the content checksum catches it
    const g = frame('stored_block.lz4');
    const raw = blocks(g)[1];
    const noBlockChecksums = g.slice();
    noBlockChecksums[4] &= ~0x10; // drop the block checksum flag ...
    // ... and the checksums themselves, so the frame stays well formed
    const parts: Uint8Array[] = [noBlockChecksums.subarray(0, 7)];
    for (const b of blocks(g)) parts.push(g.subarray(b.at, b.data + b.size));
    parts.push(new Uint8Array(4), g.subarray(g.length - 4));
    const rebuilt = fixHeaderChecksum(Uint8Array.from(parts.flatMap((p) => Array.from(p))));
    expectBytes(decompressLz4(rebuilt), plaintextOf(fixture('stored_block.lz4')), 'rebuilt');
    rebuilt[rebuilt.length - 8 - 4096 + 10] ^= 0x01; // inside the stored block's data
    expect(raw.size).toBe(4096);
    expect(() => decompressLz4(rebuilt)).toThrow(/^LZ4 frame: content checksum mismatch/);
  });

  it('header checksum mismatch: a flipped flag or block size code', () => {
    const f = frame('linked.lz4');
    f[4] ^= 0x04; // claims a content checksum
    expect(() => decompressLz4(f)).toThrow(/^LZ4 frame: header checksum mismatch: stored 0x[0-9a-f]{2}, computed 0x[0-9a-f]{2} \(corrupt frame descriptor\)$/);
    const g = frame('linked_content_checksum_size.lz4');
    g[8] ^= 0x01; // the content size field
    expect(() => decompressLz4(g)).toThrow(/header checksum mismatch/);
  });

  it('truncated frames: every cut point is an error, never a partial result', () => {
    const f = frame('linked_checksums.lz4');
    const [b1, b2] = blocks(f);
    const cuts: [number, RegExp][] = [
      [0, /expected a frame, found no bytes/],
      [3, /expected a frame magic number at byte 0, found 3 trailing bytes/],
      [5, /truncated frame header: expected at least 7 bytes, found 5/],
      [7, /truncated frame: expected the header of block 1 or the end mark at byte 7/],
      [b1.data + 10, /truncated block 1: it declares \d+ bytes and a 4-byte checksum, 10 remain/],
      [b2.at + 2, /truncated frame: expected the header of block 2 or the end mark/],
      [b2.data + b2.size + 2, /truncated block 2/],
      [f.length - 4, /truncated frame: expected the 4-byte content checksum after the end mark, found 0 bytes/],
      [f.length - 1, /truncated frame: expected the 4-byte content checksum after the end mark, found 3 bytes/],
    ];
    for (const [n, re] of cuts) expect(() => decompressLz4(f.subarray(0, n)), `cut at ${n}`).toThrow(re);
    for (let n = 0; n < f.length; n += 97) expect(() => decompressLz4(f.subarray(0, n))).toThrow(/^LZ4 frame: /);
  });

  it('bad magic, legacy format, trailing bytes', () => {
    const f = frame('linked.lz4');
    f[0] = 0x05;
    expect(() => decompressLz4(f)).toThrow(/^LZ4 frame: bad magic number 0x184d2205 at byte 0; expected an LZ4 frame \(0x184D2204\) or a skippable frame \(0x184D2A5\?\)$/);
    expect(() => decompressLz4(new Uint8Array([0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0]))).toThrow(/the legacy LZ4 format .* is not supported/);
    const g = frame('linked.lz4');
    const trailing = new Uint8Array(g.length + 6);
    trailing.set(g);
    expect(() => decompressLz4(trailing)).toThrow(new RegExp(`bad magic number 0x00000000 at byte ${g.length}`));
    expect(() => decompressLz4(trailing.subarray(0, g.length + 2))).toThrow(new RegExp(`expected a frame magic number at byte ${g.length}, found 2 trailing bytes`));
  });

  it('a frame that needs a dictionary is refused', () => {
    const f = frame('linked.lz4');
    const withDict = new Uint8Array(f.length + 4);
    withDict.set(f.subarray(0, 6));
    withDict[4] |= 0x01;
    new DataView(withDict.buffer).setUint32(6, 12345, true);
    withDict.set(f.subarray(6), 10);
    expect(() => decompressLz4(fixHeaderChecksum(withDict))).toThrow(
      /^LZ4 frame: the frame needs dictionary 12345 \(dictionary ID flag set\); no dictionary is available, so it cannot be decoded$/,
    );
  });

  it('version, reserved bits, block size code', () => {
    const cases: [number, number, RegExp][] = [
      [4, 0x80, /unsupported frame version 2 \(FLG byte 0x80\); expected version 1/],
      [4, 0x00, /unsupported frame version 0/],
      [4, 0x42, /reserved bit 1 of the FLG byte is set \(FLG 0x42\); expected 0/],
      [5, 0x41, /reserved bits of the BD byte are set \(BD 0x41\); expected 0/],
      [5, 0xc0, /reserved bits of the BD byte are set/],
      [5, 0x30, /invalid block maximum size code 3; expected 4 \(64 KiB\), 5 \(256 KiB\), 6 \(1 MiB\) or 7 \(4 MiB\)/],
    ];
    for (const [at, value, re] of cases) {
      const f = frame('linked.lz4');
      f[at] = value;
      expect(() => decompressLz4(fixHeaderChecksum(f)), `byte ${at} = 0x${value.toString(16)}`).toThrow(re);
    }
  });

  it('a content size that disagrees with the blocks, or that no block could hold', () => {
    const f = frame('linked_content_checksum_size.lz4');
    const dv = new DataView(f.buffer);
    dv.setUint32(6, 90001, true);
    expect(() => decompressLz4(fixHeaderChecksum(f))).toThrow(/^LZ4 frame: the content size field says 90001 bytes, the blocks decompress to 90000$/);
    dv.setUint32(6, 0, true);
    dv.setUint32(10, 0x100, true); // 2^40 bytes: refused before any allocation
    expect(() => decompressLz4(fixHeaderChecksum(f))).toThrow(/the content size field says 1099511627776 bytes, but its blocks can hold at most \d+ \(corrupt header\)/);
  });

  it('a block size beyond any maximum (0x7FFFFFFF) is refused before decoding', () => {
    const f = new Uint8Array([0x04, 0x22, 0x4d, 0x18, 0x40, 0x40, 0xc0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    expect(() => decompressLz4(f)).toThrow(/block 1 declares 2147483647 bytes, more than the frame's maximum block size of 65536/);
  });

  it('hand-made blocks: offset 0, a match before the start, a block ending in a match, a literal run past the end', () => {
    // FLG 0x60 (independent), BD 0x40; header checksum filled in; one block; end mark
    const make = (block: number[]): Uint8Array => {
      const n = block.length;
      const f = new Uint8Array([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0, n & 255, n >> 8, 0, 0, ...block, 0, 0, 0, 0]);
      return fixHeaderChecksum(f);
    };
    expect(Array.from(decompressLz4(make([0x50, 1, 2, 3, 4, 5])))).toEqual([1, 2, 3, 4, 5]);
    // 1 literal, then a match of 4 at offset 1, then 5 final literals
    expect(Array.from(decompressLz4(make([0x10, 7, 1, 0, 0x50, 1, 2, 3, 4, 5])))).toEqual([7, 7, 7, 7, 7, 1, 2, 3, 4, 5]);
    expect(() => decompressLz4(make([0x10, 7, 0, 0, 0x50, 1, 2, 3, 4, 5]))).toThrow(/block 1: a match with offset 0 \(invalid\)/);
    expect(() => decompressLz4(make([0x10, 7, 2, 0, 0x50, 1, 2, 3, 4, 5]))).toThrow(/block 1: a match at output byte 1 of the block reaches back 2 bytes, before the start of the block/);
    expect(() => decompressLz4(make([0x10, 7, 1, 0]))).toThrow(/block 1 ends with a match; expected a final run of literals/);
    expect(() => decompressLz4(make([0x90, 1, 2]))).toThrow(/block 1: a run of 9 literals at byte \d+ runs past the end of the block \(2 bytes left\)/);
    expect(() => decompressLz4(make([0xf0, 255, 255]))).toThrow(/block 1 is truncated inside a literal length/);
    expect(() => decompressLz4(make([0x10, 7, 1]))).toThrow(/block 1 is truncated inside a match offset/);
    expect(() => decompressLz4(make([0x1f, 7, 1, 0, 255]))).toThrow(/block 1 is truncated inside a match length/);
    // a run of 70000 bytes from 13 bytes: more than the 64 KiB block maximum
    const long = [0x1f, 7, 1, 0, ...new Array(274).fill(255), 0, 0x50, 1, 2, 3, 4, 5];
    expect(() => decompressLz4(make(long))).toThrow(/block 1 decompresses to more than 65536 bytes/);
  });

  it('the output limit', () => {
    const f = frame('linked.lz4');
    expect(() => decompressLz4(f, { maxOutput: 50_000 })).toThrow(/the decompressed data exceeds the limit of 50000 bytes/);
  });
});

// ---------------------------------------------------------------------------

describe('fuzz: corrupt frames never hang and never allocate beyond their headers', () => {
  it('random byte flips and cuts of frames with and without checksums', () => {
    const rnd = mulberry32(0x1234abcd);
    let decoded = 0;
    let refused = 0;
    let slowest = 0;
    for (const name of ['linked.lz4', 'independent.lz4', 'linked_checksums.lz4', 'stored_block.lz4', 'concatenated.lz4', 'skippable.lz4']) {
      const good = frame(name);
      for (let k = 0; k < 300; k++) {
        let b = good.slice();
        const flips = 1 + Math.floor(rnd() * 4);
        // mostly the first 64 bytes (headers, first sequences), sometimes anywhere
        for (let j = 0; j < flips; j++) b[Math.floor(rnd() * (rnd() < 0.5 ? 64 : b.length))] = Math.floor(rnd() * 256);
        if (k % 5 === 0) b = b.subarray(0, Math.floor(rnd() * b.length));
        const t0 = performance.now();
        try {
          const out = decompressLz4(b);
          // whatever decodes is bounded by the format: 255 output bytes per input byte at most
          expect(out.length).toBeLessThanOrEqual(255 * b.length);
          expect(out.buffer.byteLength).toBeLessThanOrEqual(255 * b.length);
          decoded++;
        } catch (err) {
          if (!(err instanceof Error) || !err.message.startsWith('LZ4 frame: ')) throw err;
          refused++;
        }
        slowest = Math.max(slowest, performance.now() - t0);
      }
    }
    expect(refused).toBeGreaterThan(1000);
    expect(decoded + refused).toBe(1800);
    expect(slowest).toBeLessThan(1000);
  });

  it('bytes that are no LZ4 data at all', () => {
    const err = thrown(() => decompressLz4(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])));
    expect(err.message).toMatch(/^LZ4 frame: bad magic number 0x04030201 at byte 0/);
  });
});
