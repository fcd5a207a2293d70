/**
 * LogME — log maximum evidence of a Bayesian linear model on the features.
 *
 * You, Liu, Wang, Long, "LogME: Practical Assessment of Pre-trained Models for
 * Transfer Learning", ICML 2021 (arXiv:2102.11005); fixed-point iteration from
 * You et al., "Ranking and Tuning Pre-trained Models", JMLR 2022
 * (arXiv:2110.10545, Algorithm 3). Reference: thuml/LogME `_fit_fixed_point`.
 *
 * Inputs: features F (N × D); targets: C one-hot columns (classification), or
 * K float columns (regression; multi-label 0/1 matrices take the same path).
 * Output: mean over target columns of (log evidence / N); higher is better.
 *
 * Deviations from thuml HEAD (specs/scorers.md §1.4): the (D − k)·ln α term of
 * the log-determinant is included (thuml/LogME issue #23, PR #24), and
 * directions are kept by a relative cut on σ instead of s > 1e-10.
 */
import type { ModelContext } from '../context.js';
import type { SpectralProjection } from '../spectral.js';
import type { Scorer, ScoreResult } from './scorer.js';

/** The constants of thuml `_fit_fixed_point`; part of the definition (§1.4). */
const MAX_ITERATIONS = 11;
const TOLERANCE = 1e-3;
const EPSILON = 1e-5;
const LOG_2PI = Math.log(2 * Math.PI);

export interface ColumnEvidence {
  /** Log evidence divided by N. */
  readonly evidence: number;
  readonly alpha: number;
  readonly beta: number;
  readonly iterations: number;
}

/**
 * Evidence for one target column from its coordinates x on the kept
 * directions (read with a stride, so the C columns of one matrix need no
 * copies) and its energy ‖t‖². O(k) per iteration (specs/scorers.md §1.3).
 */
export function columnEvidence(
  sigma: Float64Array,
  x: Float64Array,
  offset: number,
  stride: number,
  tNorm2: number,
  n: number,
  d: number,
): ColumnEvidence {
  const k = sigma.length;
  let sumX2 = 0;
  for (let i = 0; i < k; i++) {
    const v = x[offset + i * stride];
    sumX2 += v * v;
  }
  // Energy of t outside span(U); not clamped at 0, as in the reference (§1.7).
  const q = tNorm2 - sumX2;

  let alpha = 1;
  let beta = 1;
  let m2 = 0;
  let r2 = 0;
  let iterations = 0;
  while (iterations < MAX_ITERATIONS) {
    iterations++;
    const tau = alpha / beta;
    let gamma = 0;
    m2 = 0;
    r2 = 0;
    for (let i = 0; i < k; i++) {
      const s = sigma[i];
      const v = x[offset + i * stride];
      const x2 = v * v;
      const denom = s + tau;
      gamma += s / denom;
      m2 += (s * x2) / (denom * denom);
      const shrink = 1 + s / tau;
      r2 += x2 / (shrink * shrink);
    }
    r2 += q;
    alpha = gamma / (m2 + EPSILON);
    beta = (n - gamma) / (r2 + EPSILON);
    if (Math.abs(alpha / beta - tau) / tau <= TOLERANCE) break;
  }

  // m2 and r2 stay those of the last pass's start, with the updated α, β (§1.4).
  let logDet = (d - k) * Math.log(alpha);
  for (let i = 0; i < k; i++) logDet += Math.log(alpha + beta * sigma[i]);
  const logEvidence =
    (d / 2) * Math.log(alpha) +
    (n / 2) * Math.log(beta) -
    0.5 * logDet -
    (beta / 2) * r2 -
    (alpha / 2) * m2 -
    (n / 2) * LOG_2PI;
  return { evidence: logEvidence / n, alpha, beta, iterations };
}

/** LogME from a precomputed spectral projection: mean of the per-column evidences. */
export function logmeFromProjection(p: SpectralProjection): ScoreResult {
  const K = p.numTargets;
  let total = 0;
  let capped = 0;
  for (let c = 0; c < K; c++) {
    const col = columnEvidence(p.sigma, p.x, c, K, p.tNorm2[c], p.n, p.d);
    total += col.evidence;
    if (col.iterations === MAX_ITERATIONS) capped++;
  }
  const warnings: string[] = [];
  return {
    value: total / K,
    warnings,
    details: {
      directions_kept: p.sigma.length,
      decomposition: p.n > p.d ? 'FtF' : 'FFt',
      target_columns: K,
      columns_at_iteration_cap: capped,
    },
  };
}

export const logme: Scorer = {
  id: 'logme',
  title: 'LogME',
  inputs: ['features'],
  tasks: ['classification', 'regression', 'multilabel'],
  higherIsBetter: true,
  citation: 'You et al., LogME: Practical Assessment of Pre-trained Models for Transfer Learning, ICML 2021 (arXiv:2102.11005)',
  description: 'Log maximum evidence per sample of a Bayesian linear model on the features (fixed-point iteration).',
  cost: 'O(N·D² + D³) (O(N²·D + N³) when N < D) for one eigendecomposition of the smaller Gram matrix, then O(k) per target column and iteration',
  score(ctx: ModelContext): ScoreResult {
    return logmeFromProjection(ctx.spectralProjection());
  },
};
