/**
 * One pass over a model's feature rows computes everything the checks and the
 * Gram-based scorers need: finiteness (first bad value), constant columns,
 * FᵀF (when N > D) and FᵀT for the target columns T (class sums
 * for classification). Chunk by chunk, so a streamed file is read once for
 * all of it, in O(D² + D·K + chunk) memory.
 */
import { classSums, createGramAccumulator, matTMul } from './linalg/index.js';
import type { RowSource } from './source.js';
import type { Targets } from './types.js';

export interface FeatureSummary {
  readonly rows: number;
  readonly cols: number;
  /** First NaN/±Inf in row-major order, or null. */
  readonly nonFinite: { readonly row: number; readonly col: number; readonly value: number } | null;
  readonly constantColumns: number;
  /** FᵀF (D × D), when asked for (N > D and the rows are streamed, so this pass is the only one). */
  readonly gram: Float64Array | null;
  /** FᵀT (D × K, row-major) for the K target columns (class sums for classification). */
  readonly targetProducts: Float64Array;
  /** Σ_i F[i, :] (length D). */
  readonly colSums: Float64Array;
  readonly numTargets: number;
}

function addInto(acc: Float64Array, part: Float64Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] += part[i];
}

export function summarize(src: RowSource, t: Targets, opts: { gram: boolean }): FeatureSummary {
  const { rows: n, cols: d } = src;
  const k = t.type === 'classification' ? t.numClasses : t.k;
  const acc = opts.gram ? createGramAccumulator(d) : null;
  const targetProducts = new Float64Array(d * k);
  const colSums = new Float64Array(d);
  const firstRow = new Float64Array(d);
  const differs = new Uint8Array(d);
  // Columns not yet seen to vary; the comparison stops once every column has varied.
  let undecided = d;
  let nonFinite: FeatureSummary['nonFinite'] = null;

  src.forEachChunk((chunk, start) => {
    const { data, rows } = chunk;
    if (start === 0 && rows > 0) for (let j = 0; j < d; j++) firstRow[j] = data[j];
    for (let i = 0; i < rows && nonFinite === null; i++) {
      const o = i * d;
      if (undecided > 0) {
        for (let j = 0; j < d; j++) {
          if (differs[j] === 0 && data[o + j] !== firstRow[j]) {
            differs[j] = 1;
            undecided--;
          }
        }
      }
      // One sum per row: finite exactly when every value is (barring overflow,
      // which the scan below then clears); the position is found only on failure.
      let sum = 0;
      for (let j = 0; j < d; j++) {
        const v = data[o + j];
        sum += v;
        colSums[j] += v;
      }
      if (sum - sum !== 0) {
        for (let j = 0; j < d; j++) {
          const v = data[o + j];
          if (v - v !== 0) {
            nonFinite = { row: start + i, col: j, value: v };
            break;
          }
        }
      }
    }
    if (nonFinite !== null) return;
    acc?.add(chunk);
    const part =
      t.type === 'classification'
        ? classSums(chunk, t.labels.subarray(start, start + rows), k)
        : matTMul(chunk, t.values.subarray(start * k, (start + rows) * k), k);
    addInto(targetProducts, part);
  });

  const gram = acc && nonFinite === null ? acc.result() : null;
  let constantColumns = 0;
  for (let j = 0; j < d; j++) if (differs[j] === 0) constantColumns++;
  return { rows: n, cols: d, nonFinite, constantColumns, gram, targetProducts, colSums, numTargets: k };
}
