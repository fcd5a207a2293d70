import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { openNpyRows, readNpyHeaderFromFile } from '../../src/io/npy-stream.js';
import { FIXTURES, readNpy } from '../helpers/cli.js';

const NPY = path.join(FIXTURES, 'npy');

function collect(file: string, chunkBytes: number): { data: number[]; starts: number[]; sizes: number[] } {
  const src = openNpyRows(file, chunkBytes)!;
  const data: number[] = [];
  const starts: number[] = [];
  const sizes: number[] = [];
  src.forEachChunk((chunk, start) => {
    starts.push(start);
    sizes.push(chunk.rows);
    expect(chunk.cols).toBe(src.cols);
    data.push(...chunk.data);
  });
  return { data, starts, sizes };
}

describe('streaming .npy rows', () => {
  for (const file of ['mat_f4_le.npy', 'mat_f8_be.npy', 'mat_f2_le.npy', 'mat_i8_le.npy', 'mat_u2_be.npy', 'mat_f4_v2.npy', 'mat_f8_v3.npy']) {
    it(`${file}: chunks of 3 rows reproduce the whole-file parse`, () => {
      const whole = readNpy(path.join(NPY, file));
      const rowBytes = whole.shape[1] * Number(/\d+$/.exec(whole.dtype)![0]);
      const got = collect(path.join(NPY, file), 3 * rowBytes);
      expect(got.data).toEqual(Array.from(whole.data));
      expect(got.starts).toEqual([0, 3, 6]);
      expect(got.sizes).toEqual([3, 3, 1]);
    });
  }
  it('a chunk smaller than one row still advances one row at a time', () => {
    const got = collect(path.join(NPY, 'mat_f8_le.npy'), 1);
    expect(got.sizes).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });
  it('Fortran-order and 1-D files are not streamed (the caller loads them whole)', () => {
    expect(openNpyRows(path.join(NPY, 'mat_f4_fortran.npy'))).toBeNull();
    expect(openNpyRows(path.join(NPY, 'vec_f8.npy'))).toBeNull();
  });
  it('a truncated file is an InputError naming expected and found bytes before any row is read', () => {
    const f = path.join(NPY, 'truncated.npy');
    expect(() => openNpyRows(f)).toThrow(InputError);
    expect(() => openNpyRows(f)).toThrow(/truncated\.npy: truncated data: expected \d+ bytes .* found \d+/);
  });
  it('reads headers without reading data, and reports a missing file', () => {
    expect(readNpyHeaderFromFile(path.join(NPY, 'mat_f4_le.npy')).header.shape).toEqual([7, 5]);
    expect(() => readNpyHeaderFromFile('/nonexistent.npy')).toThrow(/nonexistent\.npy: file not found/);
  });
});
