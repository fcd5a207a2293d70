/**
 * Feature rows as the numeric core sees them: either a matrix in memory or a
 * source that hands out consecutive row chunks (a file read while it is being
 * scored). Kernels that only need sums over rows — the Gram matrix, class
 * sums, finiteness checks — accumulate chunk by chunk, so a file larger than
 * memory is scored in O(D² + chunk) memory. The interface is synchronous and
 * abstract: the core never learns where the rows come from.
 */
import type { Matrix } from './types.js';

export interface RowSource {
  readonly rows: number;
  readonly cols: number;
  /** The whole matrix when it is in memory (several passes are then free). */
  readonly matrix?: Matrix;
  /** Visits every row once, in order, in chunks; `start` is the first row's index. A chunk is valid only during its callback (its buffer is reused). */
  forEachChunk(fn: (chunk: Matrix, start: number) => void): void;
}

export function matrixSource(m: Matrix): RowSource {
  return {
    rows: m.rows,
    cols: m.cols,
    matrix: m,
    forEachChunk(fn) {
      fn(m, 0);
    },
  };
}
