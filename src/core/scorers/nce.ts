/**
 * NCE — negative conditional entropy of target labels given source labels.
 *
 * Tran, Nguyen, Hassner, "Transferability and Hardness of Supervised
 * Classification Tasks", ICCV 2019 (arXiv:1908.08142). Reference:
 * thuml/LogME `NCE.py`, tllib `ranking/nce.py`.
 *
 * Inputs: source-head probabilities P (N × Cs) — the source label of sample i
 * is argmax_z P[i, z], first index on ties (numpy) — and class labels y.
 * NCE = Σ_{c,z} Q[c,z]·ln(Q[c,z]/q[z]) = −H(Y|Z) ∈ [−ln C, 0]; higher is better.
 * Exact 0·ln 0 = 0 (specs/scorers.md §3, Decision; the references add 1e-20).
 * O(N·Cs) for the argmax, O(N + C·Cs) for the entropy.
 */
import type { ModelContext } from '../context.js';
import type { ClassTargets } from '../types.js';
import type { Scorer, ScoreResult } from './scorer.js';

/** argmax of every row, first index on ties. */
export function rowArgmax(p: { data: ArrayLike<number>; rows: number; cols: number }): Int32Array {
  const { data, rows, cols } = p;
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let best = 0;
    let max = data[o];
    for (let z = 1; z < cols; z++) {
      if (data[o + z] > max) {
        max = data[o + z];
        best = z;
      }
    }
    out[i] = best;
  }
  return out;
}

export function nceFromSourceLabels(z: Int32Array, numSource: number, t: ClassTargets): number {
  const n = z.length;
  const c = t.numClasses;
  const counts = new Float64Array(c * numSource);
  const zCounts = new Float64Array(numSource);
  for (let i = 0; i < n; i++) {
    counts[t.labels[i] * numSource + z[i]]++;
    zCounts[z[i]]++;
  }
  let total = 0;
  for (let k = 0; k < c; k++) {
    for (let s = 0; s < numSource; s++) {
      const m = counts[k * numSource + s];
      if (m > 0) total += m * Math.log(m / zCounts[s]);
    }
  }
  return total / n;
}

export const nce: Scorer = {
  id: 'nce',
  title: 'NCE',
  inputs: ['probs'],
  tasks: ['classification'],
  higherIsBetter: true,
  citation: 'Tran et al., Transferability and Hardness of Supervised Classification Tasks, ICCV 2019 (arXiv:1908.08142)',
  description: "Negative conditional entropy of the target labels given the source head's predicted classes.",
  cost: 'O(N + C·Cs)',
  score(ctx: ModelContext): ScoreResult {
    const p = ctx.requireProbs();
    const value = nceFromSourceLabels(rowArgmax(p), p.cols, ctx.targets as ClassTargets);
    return { value, warnings: [] };
  },
};
