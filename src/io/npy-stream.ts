/**
 * Streaming `.npy` reader: a RowSource over a C-order 2-D file that reads
 * a bounded number of rows at a time with synchronous positioned reads, so a
 * file larger than memory (or over the 2 GiB limit of fs.readFile) is scored
 * in O(D² + chunk) memory. Each pass re-reads the file; the OS page cache
 * makes repeated passes cheap when the file fits in RAM.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../core/errors.js';
import type { RowSource } from '../core/source.js';
import type { Matrix } from '../core/types.js';
import { wrapFsError } from './read-file.js';
import { decodeNpyRows, formatShape, parseNpyHeader, type NpyHeader } from './npy.js';

/** Bytes read per chunk: large enough for sequential throughput, small against the Gram matrix. */
export const CHUNK_BYTES = 64 << 20;

function readFully(fd: number, buf: Uint8Array, position: number, file: string): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  if (done < buf.length) {
    throw new InputError(`file shrank while being read: expected ${buf.length} bytes at offset ${position}, found ${done}`, file);
  }
  return done;
}

function withFile<T>(file: string, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw wrapFsError(err, file);
  }
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads and checks the header of a `.npy` file without reading its data. */
export function readNpyHeaderFromFile(file: string): { header: NpyHeader; size: number } {
  return withFile(file, (fd) => {
    const size = fstatSync(fd).size;
    let want = Math.min(size, 4096);
    for (;;) {
      const buf = new Uint8Array(want);
      readFully(fd, buf, 0, file);
      try {
        return { header: parseNpyHeader(buf, file), size };
      } catch (err) {
        // A long (version 2/3) header may not fit the first read: read more and retry.
        if (want < size && err instanceof InputError && /truncated \.npy header/.test(err.message)) {
          want = Math.min(size, want * 16);
          continue;
        }
        throw err;
      }
    }
  });
}

/**
 * A RowSource over a 2-D C-order `.npy` file, or null when the file cannot be
 * streamed by rows (1-D, Fortran order): the caller then loads it whole.
 */
export function openNpyRows(file: string, chunkBytes = CHUNK_BYTES): (RowSource & { readonly dtype: string }) | null {
  const { header: h, size } = readNpyHeaderFromFile(file);
  if (h.shape.length !== 2 || h.fortranOrder || h.kind === 'U' || h.kind === 'S') return null;
  const [rows, cols] = h.shape;
  const rowBytes = cols * h.itemSize;
  const expected = rows * rowBytes;
  if (h.dataOffset + expected > size) {
    throw new InputError(
      `truncated data: expected ${expected} bytes for shape ${formatShape(h.shape)} of dtype '${h.dtype}' (${h.itemSize} bytes each), found ${size - h.dataOffset}`,
      file,
    );
  }
  const rowsPerChunk = Math.max(1, Math.floor(chunkBytes / Math.max(1, rowBytes)));
  return {
    rows,
    cols,
    dtype: h.dtype,
    forEachChunk(fn: (chunk: Matrix, start: number) => void) {
      withFile(file, (fd) => {
        const buf = new Uint8Array(Math.min(rows, rowsPerChunk) * rowBytes);
        for (let start = 0; start < rows; start += rowsPerChunk) {
          const count = Math.min(rowsPerChunk, rows - start);
          const bytes = buf.subarray(0, count * rowBytes);
          readFully(fd, bytes, h.dataOffset + start * rowBytes, file);
          fn({ data: decodeNpyRows(bytes, h, count), rows: count, cols }, start);
        }
      });
    },
  };
}
