/**
 * LZ4 frame decoder (the LZ4 frame format and LZ4 block format
 * specifications of the lz4 project), for Arrow IPC buffers compressed with
 * LZ4_FRAME by pyarrow, pandas, polars and others.
 *
 * Supported: frame magic 0x184D2204, version 01; linked blocks (a match may
 * reach back into the output of the frame's earlier blocks, 64 KiB at most)
 * and independent blocks; block maximum sizes 64 KiB, 256 KiB, 1 MiB and
 * 4 MiB; compressed and stored (uncompressed) blocks; the content size field;
 * the header, block and content checksums (xxHash32, seed 0), all verified;
 * skippable frames (magic 0x184D2A50..0x184D2A5F); several frames back to
 * back, whose outputs are concatenated. Refused with a clear message: a frame
 * that needs a dictionary, the legacy format, reserved bits, and anything
 * corrupt or truncated.
 *
 * Memory: the frame and block headers are walked first (no decoding), which
 * checks that every block fits the input and gives an upper bound of the
 * output: stored bytes, plus for each compressed block of c bytes
 * min(block maximum, 255·c) (a sequence cannot expand its input more than
 * 255 times). The output buffer starts at the content size, the caller's
 * size hint or a small estimate, grows by doubling when needed and never
 * beyond that bound; so corrupt sizes cannot make it allocate wildly.
 *
 * Speed: the block decoder is a tight loop over Uint8Arrays; long literal
 * runs are copied with `set`, long matches that do not overlap their output
 * with `copyWithin`, a run of one byte with `fill`, other overlapping matches
 * byte by byte.
 */
import { constants as bufferConstants } from 'node:buffer';
import { xxh32 } from './xxhash32.js';

const FRAME_MAGIC = 0x184d2204;
const LEGACY_MAGIC = 0x184c2102;
const SKIPPABLE_MAGIC = 0x184d2a50; // low 4 bits: any value
const BLOCK_MAX: readonly number[] = [0, 0, 0, 0, 1 << 16, 1 << 18, 1 << 20, 1 << 22];

/** Literal runs and matches at least this long are copied with set/copyWithin. */
const BULK_COPY = 32;

export interface Lz4Options {
  /**
   * Expected decompressed size (for example the 8-byte length prefix of an
   * Arrow buffer): sizes the output buffer. Only a hint: a wrong value costs
   * a reallocation or a trimmed copy, never a wrong result.
   */
  readonly sizeHint?: number;
  /** Refuse output larger than this many bytes (default: the largest Buffer). */
  readonly maxOutput?: number;
}

interface FrameLayout {
  /** 1-based, counting LZ4 frames only (not skippable ones). */
  readonly index: number;
  /** Position of the first block header. */
  readonly blocksAt: number;
  readonly maxBlock: number;
  readonly independent: boolean;
  readonly blockChecksum: boolean;
  readonly contentChecksum: boolean;
  /** -1 when the frame has no content size field. */
  readonly contentSize: number;
  /** Upper bound of this frame's decompressed size. */
  readonly bound: number;
  /** Compressed size from magic to the end of the frame. */
  readonly span: number;
}

function hex(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

function hex2(v: number): string {
  return `0x${v.toString(16).padStart(2, '0')}`;
}

function u32(src: Uint8Array, p: number): number {
  return (src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24)) >>> 0;
}

function fail(msg: string): never {
  throw new Error(`LZ4 frame: ${msg}`);
}

/** ` of frame 2` when the data holds several frames; empty otherwise. */
function frameLabel(index: number, several: boolean): string {
  return several ? ` of frame ${index}` : '';
}

/**
 * Walks every frame header and block header of `src` without decoding: checks
 * the magic numbers, descriptors, header checksums and that every block fits.
 */
function layoutFrames(src: Uint8Array): FrameLayout[] {
  const n = src.length;
  if (n === 0) fail('expected a frame, found no bytes');
  const frames: FrameLayout[] = [];
  let p = 0;
  let index = 0;
  while (p < n) {
    const at = p;
    if (p + 4 > n) fail(`expected a frame magic number at byte ${p}, found ${n - p} trailing byte${n - p === 1 ? '' : 's'}`);
    const magic = u32(src, p);
    if ((magic & 0xfffffff0) === SKIPPABLE_MAGIC) {
      if (p + 8 > n) fail(`truncated skippable frame at byte ${p}: expected its 4-byte size, found the end of the data`);
      const size = u32(src, p + 4);
      if (p + 8 + size > n) fail(`truncated skippable frame at byte ${p}: it declares ${size} bytes, ${n - p - 8} remain`);
      p += 8 + size;
      continue;
    }
    if (magic !== FRAME_MAGIC) {
      if (magic === LEGACY_MAGIC) fail(`the legacy LZ4 format (magic 0x184C2102, lz4 -l) at byte ${p} is not supported; expected an LZ4 frame`);
      fail(`bad magic number ${hex(magic)} at byte ${p}; expected an LZ4 frame (0x184D2204) or a skippable frame (0x184D2A5?)`);
    }
    index++;
    const where = index > 1 ? ` (frame ${index}, byte ${at})` : '';
    if (p + 7 > n) fail(`truncated frame header${where}: expected at least 7 bytes, found ${n - p}`);
    const flg = src[p + 4];
    const bd = src[p + 5];
    const version = flg >>> 6;
    if (version !== 1) fail(`unsupported frame version ${version}${where} (FLG byte ${hex2(flg)}); expected version 1`);
    if (flg & 0x02) fail(`reserved bit 1 of the FLG byte is set${where} (FLG ${hex2(flg)}); expected 0`);
    if (bd & 0x8f) fail(`reserved bits of the BD byte are set${where} (BD ${hex2(bd)}); expected 0`);
    const maxBlock = BLOCK_MAX[(bd >>> 4) & 7];
    if (!maxBlock) fail(`invalid block maximum size code ${(bd >>> 4) & 7}${where}; expected 4 (64 KiB), 5 (256 KiB), 6 (1 MiB) or 7 (4 MiB)`);
    const independent = (flg & 0x20) !== 0;
    const blockChecksum = (flg & 0x10) !== 0;
    const hasSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const hasDict = (flg & 0x01) !== 0;
    const descEnd = p + 6 + (hasSize ? 8 : 0) + (hasDict ? 4 : 0);
    if (descEnd + 1 > n) fail(`truncated frame header${where}: expected ${descEnd + 1 - p} bytes, found ${n - p}`);
    if (hasDict) {
      fail(`the frame needs dictionary ${u32(src, descEnd - 4)}${where} (dictionary ID flag set); no dictionary is available, so it cannot be decoded`);
    }
    const stored = src[descEnd];
    const computed = (xxh32(src.subarray(p + 4, descEnd)) >>> 8) & 0xff;
    if (stored !== computed) {
      fail(`header checksum mismatch${where}: stored ${hex2(stored)}, computed ${hex2(computed)} (corrupt frame descriptor)`);
    }
    let contentSize = -1;
    if (hasSize) {
      const lo = u32(src, p + 6);
      const hi = u32(src, p + 10);
      if (hi >= 0x200000) fail(`content size field${where} claims more than 2^53 bytes`);
      contentSize = hi * 0x100000000 + lo;
    }
    p = descEnd + 1;
    const blocksAt = p;
    let bound = 0;
    let block = 0;
    for (;;) {
      block++;
      if (p + 4 > n) fail(`truncated frame${where}: expected the header of block ${block} or the end mark at byte ${p}, found the end of the data`);
      const word = u32(src, p);
      p += 4;
      const size = word & 0x7fffffff;
      if (size === 0) break; // end mark (0x00000000; the reference decoder also reads 0x80000000 so)
      const raw = word >>> 31 === 1;
      if (size > maxBlock) {
        fail(`block ${block}${where} declares ${size} bytes, more than the frame's maximum block size of ${maxBlock} (corrupt block header)`);
      }
      const need = size + (blockChecksum ? 4 : 0);
      if (p + need > n) {
        fail(`truncated block ${block}${where}: it declares ${size} bytes${blockChecksum ? ' and a 4-byte checksum' : ''}, ${n - p} remain`);
      }
      bound += raw ? size : Math.min(maxBlock, size * 255);
      p += need;
    }
    if (contentChecksum) {
      if (p + 4 > n) fail(`truncated frame${where}: expected the 4-byte content checksum after the end mark, found ${n - p} bytes`);
      p += 4;
    }
    if (contentSize > bound) {
      fail(`the content size field${where} says ${contentSize} bytes, but its blocks can hold at most ${bound} (corrupt header)`);
    }
    frames.push({ index, blocksAt, maxBlock, independent, blockChecksum, contentChecksum, contentSize, bound, span: p - at });
  }
  if (frames.length === 0) fail('expected an LZ4 frame, found only skippable frames');
  return frames;
}

/** The growable output: `buf[0, length)` is decoded. */
class Output {
  buf: Uint8Array;
  constructor(
    capacity: number,
    /** Never grow beyond this (the bound from the headers, or the caller's limit). */
    private readonly hardCap: number,
    private readonly limit: number,
  ) {
    this.buf = new Uint8Array(capacity);
  }

  /** Makes room for `need` bytes in total; returns the (possibly new) buffer. */
  grow(need: number, used: number): Uint8Array {
    if (need > this.limit) fail(`the decompressed data exceeds the limit of ${this.limit} bytes`);
    if (need > this.hardCap) fail(`the decompressed data exceeds the ${this.hardCap} bytes its headers allow`);
    const cap = Math.min(this.hardCap, Math.max(need, this.buf.length * 2, 1024));
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, used));
    this.buf = next;
    return next;
  }
}

/**
 * Decodes one compressed block `src[ip, ipEnd)` to `output.buf` at `op`.
 * Matches may not reach before `low`: the frame's first output byte (linked
 * blocks) or the block's (independent blocks), as `scope` says. The block may
 * not produce more than `maxOut` bytes. Returns the new output position.
 * `label` names the block in messages.
 */
function decodeBlock(
  src: Uint8Array,
  ip: number,
  ipEnd: number,
  output: Output,
  op: number,
  low: number,
  scope: 'frame' | 'block',
  maxOut: number,
  label: () => string,
): number {
  let out = output.buf;
  const blockLimit = op + maxOut;
  // Writes up to opLimit need no check; beyond it: the block limit (error) or a bigger buffer.
  let opLimit = Math.min(blockLimit, out.length);
  for (;;) {
    if (ip >= ipEnd) fail(`block ${label()} ends with a match; expected a final run of literals (corrupt or truncated block)`);
    const token = src[ip++];
    // Literals
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= ipEnd) fail(`block ${label()} is truncated inside a literal length`);
        b = src[ip++];
        lit += b;
      } while (b === 255);
    }
    if (lit > 0) {
      const litEnd = ip + lit;
      if (litEnd > ipEnd) fail(`block ${label()}: a run of ${lit} literals at byte ${ip} runs past the end of the block (${ipEnd - ip} bytes left)`);
      if (op + lit > opLimit) {
        if (op + lit > blockLimit) fail(`block ${label()} decompresses to more than ${maxOut} bytes (corrupt block)`);
        out = output.grow(op + lit, op);
        opLimit = Math.min(blockLimit, out.length);
      }
      if (lit < BULK_COPY) {
        while (ip < litEnd) out[op++] = src[ip++];
      } else {
        out.set(src.subarray(ip, litEnd), op);
        op += lit;
        ip = litEnd;
      }
    }
    if (ip === ipEnd) return op; // the last sequence has literals only
    // Match
    if (ip + 2 > ipEnd) fail(`block ${label()} is truncated inside a match offset`);
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (ip >= ipEnd) fail(`block ${label()} is truncated inside a match length`);
        b = src[ip++];
        len += b;
      } while (b === 255);
    }
    len += 4;
    let m = op - offset;
    if (offset === 0 || m < low) {
      fail(
        offset === 0
          ? `block ${label()}: a match with offset 0 (invalid)`
          : `block ${label()}: a match at output byte ${op - low} of the ${scope} reaches back ${offset} bytes, before the start of the ${scope} (corrupt block)`,
      );
    }
    const end = op + len;
    if (end > opLimit) {
      if (end > blockLimit) fail(`block ${label()} decompresses to more than ${maxOut} bytes (corrupt block)`);
      out = output.grow(end, op);
      opLimit = Math.min(blockLimit, out.length);
    }
    if (offset >= len) {
      if (len < BULK_COPY) while (op < end) out[op++] = out[m++];
      else {
        out.copyWithin(op, m, m + len);
        op = end;
      }
    } else if (offset === 1) {
      out.fill(out[m], op, end);
      op = end;
    } else {
      while (op < end) out[op++] = out[m++];
    }
  }
}

/**
 * Decompresses LZ4 data: one or more frames (and skippable frames), with
 * every checksum present verified. Throws an Error starting with "LZ4 frame:"
 * that says what is wrong and where.
 */
export function decompressLz4(src: Uint8Array, options: Lz4Options = {}): Uint8Array {
  const limit = options.maxOutput ?? bufferConstants.MAX_LENGTH;
  const frames = layoutFrames(src);
  const several = frames.length > 1;
  let bound = 0;
  let estimate = 0;
  for (const f of frames) {
    bound += f.bound;
    estimate += f.contentSize >= 0 ? f.contentSize : Math.min(f.bound, 4 * f.span + 256);
  }
  const hardCap = Math.min(bound, limit);
  const hint = options.sizeHint;
  let capacity = hint !== undefined && Number.isFinite(hint) && hint >= 0 ? Math.min(Math.floor(hint), hardCap) : Math.min(estimate, hardCap);
  if (frames.every((f) => f.contentSize >= 0)) capacity = Math.min(estimate, hardCap); // exact
  const output = new Output(capacity, hardCap, limit);

  let op = 0;
  for (const f of frames) {
    const frameStart = op;
    let p = f.blocksAt;
    let block = 0;
    const label = (): string => `${block}${frameLabel(f.index, several)}`;
    for (;;) {
      block++;
      const word = u32(src, p);
      p += 4;
      const size = word & 0x7fffffff;
      if (size === 0) break;
      if (f.blockChecksum) {
        const stored = u32(src, p + size);
        const computed = xxh32(src.subarray(p, p + size));
        if (stored !== computed) fail(`block checksum mismatch in block ${label()} (stored ${hex(stored)}, computed ${hex(computed)})`);
      }
      if (word >>> 31 === 1) {
        // Stored block: the bytes as they are.
        if (op + size > output.buf.length) output.grow(op + size, op);
        output.buf.set(src.subarray(p, p + size), op);
        op += size;
      } else {
        const [low, scope] = f.independent ? [op, 'block' as const] : [frameStart, 'frame' as const];
        op = decodeBlock(src, p, p + size, output, op, low, scope, Math.min(f.maxBlock, size * 255), label);
      }
      p += size + (f.blockChecksum ? 4 : 0);
    }
    const produced = op - frameStart;
    if (f.contentSize >= 0 && produced !== f.contentSize) {
      fail(`the content size field${frameLabel(f.index, several)} says ${f.contentSize} bytes, the blocks decompress to ${produced}`);
    }
    if (f.contentChecksum) {
      const stored = u32(src, p);
      const computed = xxh32(output.buf.subarray(frameStart, op));
      if (stored !== computed) fail(`content checksum mismatch${frameLabel(f.index, several)} (stored ${hex(stored)}, computed ${hex(computed)}): the decompressed data is corrupt`);
    }
  }
  const buf = output.buf;
  if (op === buf.length) return buf;
  // Keep a view when little is wasted; otherwise copy out to free the rest.
  return buf.length - op <= Math.max(4096, op >>> 4) ? buf.subarray(0, op) : buf.slice(0, op);
}
