/**
 * LEEP — log expected empirical prediction.
 *
 * Nguyen, Hassner, Seeger, Archambeau, "LEEP: A New Measure to Evaluate
 * Transferability of Learned Representations", ICML 2020 (arXiv:2002.12462).
 * Reference: thuml/LogME `LEEP.py`, tllib `ranking/leep.py`.
 *
 * Inputs: source-head probabilities P (N × Cs), class labels y (C classes).
 * LEEP = (1/N) Σ_i ln Σ_z P[i,z]·θ[y_i|z], θ = empirical P(target | source).
 * Range (−∞, 0]; higher is better. O(N·Cs) time, O(C·Cs) memory: the
 * N × C × Cs tensor of the definition is never formed.
 *
 * Deviation (specs/scorers.md §2, Decision): a source column with zero mass
 * has θ = 0 and contributes nothing; the references compute 0/0 = NaN there.
 */
import type { ModelContext } from '../context.js';
import type { ClassTargets } from '../types.js';
import type { Scorer, ScoreResult } from './scorer.js';

export function leepScore(p: { data: ArrayLike<number>; rows: number; cols: number }, t: ClassTargets): { value: number; zeroMassColumns: number } {
  const { data, rows: n, cols: cs } = p;
  const c = t.numClasses;
  const y = t.labels;
  // Joint Q[c, z] (unnormalised by N: the 1/N cancels in θ).
  const joint = new Float64Array(c * cs);
  for (let i = 0; i < n; i++) {
    const row = y[i] * cs;
    const o = i * cs;
    for (let z = 0; z < cs; z++) joint[row + z] += data[o + z];
  }
  const mass = new Float64Array(cs);
  for (let k = 0; k < c; k++) for (let z = 0; z < cs; z++) mass[z] += joint[k * cs + z];
  let zeroMass = 0;
  for (let z = 0; z < cs; z++) {
    if (mass[z] === 0) {
      zeroMass++;
      continue;
    }
    const inv = 1 / mass[z];
    for (let k = 0; k < c; k++) joint[k * cs + z] *= inv;
  }
  // joint now holds θ[c|z] (0 on zero-mass columns).
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = y[i] * cs;
    const o = i * cs;
    let eep = 0;
    for (let z = 0; z < cs; z++) eep += data[o + z] * joint[row + z];
    total += Math.log(eep);
  }
  return { value: total / n, zeroMassColumns: zeroMass };
}

export const leep: Scorer = {
  id: 'leep',
  title: 'LEEP',
  inputs: ['probs'],
  tasks: ['classification'],
  higherIsBetter: true,
  citation: 'Nguyen et al., LEEP: A New Measure to Evaluate Transferability of Learned Representations, ICML 2020 (arXiv:2002.12462)',
  description: 'Mean log-likelihood of the labels under the source head composed with the empirical source→target conditional.',
  cost: 'O(N·Cs) time, O(C·Cs) memory',
  score(ctx: ModelContext): ScoreResult {
    const t = ctx.targets as ClassTargets;
    const r = leepScore(ctx.requireProbs(), t);
    return { value: r.value, warnings: [], details: { zero_mass_source_classes: r.zeroMassColumns } };
  },
};
