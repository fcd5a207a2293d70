/**
 * Source-head outputs: probabilities or logits (specs/cli.md §1). Every row
 * non-negative and summing to 1 ± 1e-3 means probabilities; anything else is
 * treated as logits and turned into probabilities by a max-subtracted float64
 * softmax. The kind can be forced.
 */
import { InputError } from './errors.js';
import type { Matrix } from './types.js';
import { assertFinite } from './validate.js';

export type ProbsKind = 'probs' | 'logits';
export type ProbsKindOption = ProbsKind | 'auto';

/** Row-sum tolerance of specs/scorers.md §2 ("rows whose sum differs from 1 by more than 1e-3"). */
const SUM_TOLERANCE = 1e-3;

/** The first row that is not a probability vector, with the reason; null if all rows are. */
export function firstNonProbabilityRow(m: Matrix): { row: number; reason: string } | null {
  const { data, rows, cols } = m;
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = data[o + j];
      if (v < 0) return { row: i, reason: `negative entry ${v} at column ${j}` };
      sum += v;
    }
    if (Math.abs(sum - 1) > SUM_TOLERANCE) return { row: i, reason: `its values sum to ${sum}` };
  }
  return null;
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

/** Validates a source-head matrix and returns probabilities plus the kind that was used. */
export function toProbabilities(m: Matrix, option: ProbsKindOption, source: string): { probs: Matrix; kind: ProbsKind } {
  assertFinite(m, 'source-head outputs', source);
  if (m.cols < 1) throw new InputError('source-head outputs: expected N × Cs with Cs ≥ 1, found 0 columns', source);
  if (option === 'logits') return { probs: softmaxRows(m), kind: 'logits' };
  const bad = firstNonProbabilityRow(m);
  if (bad === null) return { probs: m, kind: 'probs' };
  if (option === 'probs') {
    throw new InputError(
      `--probs-kind probs: expected rows of non-negative values summing to 1 ± ${SUM_TOLERANCE}, found row ${bad.row}: ${bad.reason}`,
      source,
    );
  }
  return { probs: softmaxRows(m), kind: 'logits' };
}
