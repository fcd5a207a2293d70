/**
 * Source-head outputs: probabilities or logits (README "Source-head outputs").
 *
 * Decision rule for `--probs-kind auto`, row by row:
 * - a probability row: every entry ≥ −NEG_TOLERANCE and the sum within
 *   SUM_TOLERANCE of 1 (rounding in float32/float16 files and in the
 *   softmax that wrote them is tolerated; entries between −NEG_TOLERANCE and 0
 *   are read as 0);
 * - a percentage row: the same with a sum within 100·SUM_TOLERANCE of 100;
 * - every row a probability row → probabilities; every row a percentage row
 *   → percentages, divided by 100 (with a warning);
 * - otherwise logits, turned into probabilities by a max-subtracted float64
 *   softmax — unless the matrix looks like probabilities that are broken
 *   (every entry in [0, 1] and most rows sum to 1): applying a softmax to
 *   probabilities would silently flatten them, so that is an error naming
 *   the first bad row.
 */
import { InputError } from './errors.js';
import type { Matrix } from './types.js';
import { assertFinite } from './validate.js';

export type ProbsKind = 'probs' | 'logits' | 'percent';
export type ProbsKindOption = 'probs' | 'logits' | 'auto';

/** Row sums within this of 1 are probability rows (1e-3, the tolerance of the LEEP reference's checks). */
export const SUM_TOLERANCE = 1e-3;
/** Entries this close below 0 are rounding, read as 0. */
export const NEG_TOLERANCE = 1e-6;
/** Share of probability rows above which a matrix of values in [0, 1] is taken for damaged probabilities rather than logits. */
const MOSTLY = 0.9;

interface RowScan {
  /** Rows that are probability vectors (up to the tolerances). */
  readonly probRows: number;
  /** Rows that are percentage vectors. */
  readonly percentRows: number;
  /** Every entry lies in [−NEG_TOLERANCE, 1 + SUM_TOLERANCE]. */
  readonly unitRange: boolean;
  /** Some entry lies in [−NEG_TOLERANCE, 0). */
  readonly tinyNegatives: boolean;
  /** The first row that is not a probability vector, with the reason. */
  readonly firstBad: { row: number; reason: string } | null;
}

function scanRows(m: Matrix): RowScan {
  const { data, rows, cols } = m;
  let probRows = 0;
  let percentRows = 0;
  let unitRange = true;
  let tinyNegatives = false;
  let firstBad: RowScan['firstBad'] = null;
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    let negative = -1;
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = data[o + j];
      if (v < 0) {
        if (v < -NEG_TOLERANCE) {
          if (negative < 0) negative = j;
        } else tinyNegatives = true;
      }
      if (v < -NEG_TOLERANCE || v > 1 + SUM_TOLERANCE) unitRange = false;
      sum += v;
    }
    if (negative < 0 && Math.abs(sum - 1) <= SUM_TOLERANCE) probRows++;
    else {
      if (negative < 0 && Math.abs(sum - 100) <= 100 * SUM_TOLERANCE) percentRows++;
      firstBad ??= { row: i, reason: negative >= 0 ? `negative entry ${data[o + negative]} at column ${negative}` : `its values sum to ${sum}` };
    }
  }
  return { probRows, percentRows, unitRange, tinyNegatives, firstBad };
}

/** The first row that is not a probability vector (up to the tolerances), with the reason; null if all rows are. */
export function firstNonProbabilityRow(m: Matrix): { row: number; reason: string } | null {
  return scanRows(m).firstBad;
}

/** Max-subtracted softmax of every row, in float64. */
export function softmaxRows(m: Matrix): Matrix {
  const { data, rows, cols } = m;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (data[o + j] > max) max = data[o + j];
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(data[o + j] - max);
      out[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) out[o + j] *= inv;
  }
  return { data: out, rows, cols };
}

/** A copy scaled by `factor`, with rounding-level negatives set to 0. */
function cleaned(m: Matrix, factor: number): Matrix {
  const out = new Float64Array(m.data.length);
  for (let q = 0; q < out.length; q++) {
    const v = m.data[q] * factor;
    out[q] = v < 0 ? 0 : v;
  }
  return { data: out, rows: m.rows, cols: m.cols };
}

export interface Probabilities {
  readonly probs: Matrix;
  readonly kind: ProbsKind;
  readonly warnings: string[];
}

/** Validates a source-head matrix and returns probabilities, the kind that was used, and what the user should know. */
export function toProbabilities(m: Matrix, option: ProbsKindOption, source: string): Probabilities {
  assertFinite(m, 'source-head outputs', source);
  if (m.cols < 1) throw new InputError('source-head outputs: expected N × Cs with Cs ≥ 1, found 0 columns', source);
  if (option === 'logits') return { probs: softmaxRows(m), kind: 'logits', warnings: [] };
  const scan = scanRows(m);
  if (scan.probRows === m.rows) {
    return { probs: scan.tinyNegatives ? cleaned(m, 1) : m, kind: 'probs', warnings: [] };
  }
  if (scan.percentRows === m.rows) {
    return {
      probs: cleaned(m, 0.01),
      kind: 'percent',
      warnings: [`source-head outputs sum to 100 in every row: read as percentages and divided by 100`],
    };
  }
  const bad = scan.firstBad!;
  if (option === 'probs') {
    throw new InputError(
      `--probs-kind probs: expected rows of non-negative values summing to 1 ± ${SUM_TOLERANCE}, found row ${bad.row}: ${bad.reason}`,
      source,
    );
  }
  if (scan.unitRange && scan.probRows >= MOSTLY * m.rows) {
    throw new InputError(
      `source-head outputs look like probabilities (values in [0, 1], ${scan.probRows} of ${m.rows} rows sum to 1) but row ${bad.row} does not: ${bad.reason}; ` +
        'fix the file, or give --probs-kind logits if these really are logits',
      source,
    );
  }
  return { probs: softmaxRows(m), kind: 'logits', warnings: [] };
}
