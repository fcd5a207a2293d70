/**
 * Reader for NumPy `.npz` archives: a zip file whose entries are `.npy` files
 * (`np.savez` stores them, `np.savez_compressed` deflates them).
 *
 * The zip structure is parsed by hand, per the PKWARE APPNOTE: the
 * end-of-central-directory record at the end of the file (and the zip64
 * records when present: numpy forces zip64 on every entry), the central
 * directory it points to, then each entry's local header. Entries are stored
 * (method 0) or deflated (method 8, inflated with node:zlib). The CRC-32 is
 * checked when this Node.js has zlib.crc32.
 *
 * Pure: parses bytes, never touches the file system. Every failure is an
 * InputError naming the file (and the key), what was expected and what was
 * found.
 */
import path from 'node:path';
import * as zlib from 'node:zlib';
import { InputError } from '../core/errors.js';
import type { LoadedArray, NdArray } from '../core/types.js';
import { parseNpy, parseNpyLabels } from './npy.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

export interface ZipEntry {
  /** Entry name as stored (`features.npy`). */
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
}

const directories = new WeakMap<Uint8Array, ZipEntry[]>();

function corrupt(what: string, source: string): InputError {
  return new InputError(`corrupt or truncated .npz (zip) file: ${what}`, source);
}

function u64(dv: DataView, at: number, what: string, source: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} is ${v}, beyond any real file`, source);
  return Number(v);
}

/** Finds the end-of-central-directory record, searching back over a trailing comment. */
function findEocd(bytes: Uint8Array, dv: DataView, source: string): number {
  const last = bytes.length - EOCD_SIZE;
  const first = Math.max(0, last - MAX_COMMENT);
  for (let at = last; at >= first; at--) {
    if (bytes[at] === 0x50 && dv.getUint32(at, true) === SIG_EOCD) {
      const commentLen = dv.getUint16(at + 20, true);
      // The comment must reach the end of the file exactly (a stray signature inside data does not).
      if (at + EOCD_SIZE + commentLen === bytes.length) return at;
    }
  }
  throw corrupt(
    `expected a zip end-of-central-directory record at the end of the file, found none in the last ${Math.min(bytes.length, EOCD_SIZE + MAX_COMMENT)} bytes (is the file cut short?)`,
    source,
  );
}

/** Parses (and caches) the central directory. */
export function zipEntries(bytes: Uint8Array, source: string): ZipEntry[] {
  const cached = directories.get(bytes);
  if (cached) return cached;
  if (bytes.length < EOCD_SIZE) {
    throw corrupt(`expected at least ${EOCD_SIZE} bytes, found ${bytes.length}`, source);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEocd(bytes, dv, source);
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  const loc = eocd - 20;
  if (loc >= 0 && dv.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
    const z = u64(dv, loc + 8, 'the zip64 end-of-central-directory offset', source);
    if (z + 56 > bytes.length || dv.getUint32(z, true) !== SIG_ZIP64_EOCD) {
      throw corrupt(`expected a zip64 end-of-central-directory record at offset ${z}, found none`, source);
    }
    count = u64(dv, z + 32, 'the entry count', source);
    cdSize = u64(dv, z + 40, 'the central directory size', source);
    cdOffset = u64(dv, z + 48, 'the central directory offset', source);
  } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw corrupt('expected a zip64 end-of-central-directory locator (the record says zip64), found none', source);
  }
  if (cdOffset + cdSize > bytes.length) {
    throw corrupt(
      `the central directory should span bytes ${cdOffset}..${cdOffset + cdSize}, but the file has ${bytes.length} bytes`,
      source,
    );
  }
  const entries: ZipEntry[] = [];
  const dec = new TextDecoder('utf-8');
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || dv.getUint32(p, true) !== SIG_CENTRAL) {
      throw corrupt(`expected central directory entry ${i + 1} of ${count} at offset ${p}, found other bytes`, source);
    }
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localOffset = dv.getUint32(p + 42, true);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cdOffset + cdSize) throw corrupt(`central directory entry ${i + 1} runs past the directory`, source);
    const name = dec.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information: only the fields that are 0xFFFFFFFF above, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const qEnd = Math.min(q + len, extraEnd);
        const next = (what: string): number => {
          if (q + 8 > qEnd) throw corrupt(`the zip64 field of '${name}' is too short for ${what}`, source);
          const v = u64(dv, q, what, source);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next('the size');
        if (compressedSize === 0xffffffff) compressedSize = next('the compressed size');
        if (localOffset === 0xffffffff) localOffset = next('the entry offset');
      }
      e += 4 + len;
    }
    entries.push({ name, method, flags, crc, compressedSize, size, localOffset });
    p = end;
  }
  directories.set(bytes, entries);
  return entries;
}

/** Keys of the `.npy` entries (entry name without `.npy`), in archive order. */
export function npzKeys(bytes: Uint8Array, source: string): string[] {
  return zipEntries(bytes, source)
    .filter((e) => e.name.endsWith('.npy'))
    .map((e) => e.name.slice(0, -4));
}

/** True when the zip looks like a PyTorch `torch.save` archive (`<name>/data.pkl`). */
export function looksLikeTorchZip(bytes: Uint8Array, source: string): boolean {
  try {
    return zipEntries(bytes, source).some((e) => e.name === 'data.pkl' || e.name.endsWith('/data.pkl'));
  } catch {
    return false;
  }
}

function listKeys(keys: readonly string[]): string {
  return keys.length === 0 ? 'none' : keys.join(', ');
}

/** The raw (decompressed, CRC-checked) bytes of one entry. */
export function zipEntryBytes(bytes: Uint8Array, entry: ZipEntry, where: string): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localOffset;
  if (at + 30 > bytes.length || dv.getUint32(at, true) !== SIG_LOCAL) {
    throw corrupt(`expected the local header of '${entry.name}' at offset ${at}, found other bytes`, where);
  }
  if (entry.flags & 0x1) throw new InputError(`entry '${entry.name}' is encrypted; expected an unencrypted .npz`, where);
  const start = at + 30 + dv.getUint16(at + 26, true) + dv.getUint16(at + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) {
    throw corrupt(
      `entry '${entry.name}' should span bytes ${start}..${end}, but the file has ${bytes.length} bytes`,
      where,
    );
  }
  const raw = bytes.subarray(start, end);
  let data: Uint8Array;
  if (entry.method === 0) {
    data = raw;
  } else if (entry.method === 8) {
    try {
      data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (err) {
      throw corrupt(`cannot inflate entry '${entry.name}' (${(err as Error).message})`, where);
    }
  } else {
    const names: Record<number, string> = { 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz' };
    throw new InputError(
      `entry '${entry.name}' uses zip compression method ${entry.method}${names[entry.method] ? ` (${names[entry.method]})` : ''}; ` +
        'expected stored (0) or deflate (8), as np.savez and np.savez_compressed write',
      where,
    );
  }
  if (data.length !== entry.size) {
    throw corrupt(`entry '${entry.name}' should hold ${entry.size} bytes, found ${data.length}`, where);
  }
  const crc32 = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (typeof crc32 === 'function') {
    const got = crc32(data) >>> 0;
    if (got !== entry.crc >>> 0) {
      throw corrupt(
        `CRC-32 mismatch in entry '${entry.name}': expected ${entry.crc.toString(16).padStart(8, '0')}, found ${got.toString(16).padStart(8, '0')}`,
        where,
      );
    }
  }
  return data;
}

/**
 * Reads the array stored under `key` (`features` for the entry `features.npy`);
 * with `labels`, a string array (class names) is read too.
 */
export function readNpzEntry(bytes: Uint8Array, key: string, source: string): NdArray;
export function readNpzEntry(bytes: Uint8Array, key: string, source: string, opts: { labels: true }): LoadedArray;
export function readNpzEntry(bytes: Uint8Array, key: string, source: string, opts?: { labels: boolean }): LoadedArray {
  const where = `${source}#${key}`;
  const entries = zipEntries(bytes, source);
  const entry = entries.find((e) => e.name === `${key}.npy`);
  if (!entry) {
    const keys = npzKeys(bytes, source);
    if (entries.some((e) => e.name === key)) {
      throw new InputError(`entry '${key}' is not a .npy array; expected one of the npz keys: ${listKeys(keys)}`, where);
    }
    throw new InputError(`no key '${key}' in ${path.basename(source)}; keys: ${listKeys(keys)}`, where);
  }
  const entryBytes = zipEntryBytes(bytes, entry, where);
  return opts?.labels ? parseNpyLabels(entryBytes, where) : parseNpy(entryBytes, where);
}
