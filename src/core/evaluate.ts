/**
 * Ranking-quality evaluation: how well one vector of transferability scores
 * ranks the models, judged against a ground-truth vector (e.g. the accuracy
 * each model reaches after fine-tuning). Both vectors are aligned by model and
 * higher is better in both.
 *
 * The correlations reproduce scipy.stats (1.17) to rounding:
 *
 *   weighted_tau             weightedtau(score, truth)              defaults: rank=True
 *   weighted_tau_truth_rank  weightedtau(truth, score, rank=None)   the Model-Spider variant
 *   kendall_tau_b            kendalltau(score, truth)               variant 'b'
 *   spearman                 spearmanr(score, truth).statistic
 *   pearson                  pearsonr(score, truth).statistic
 *
 * Where scipy returns NaN (a constant vector leaves the correlation
 * undefined) the field is null, never NaN, so a report can be written as JSON.
 *
 * The top-pick measures need a rule for ties in the score, because a tie at
 * the top (or at the top-3 cut) leaves the pick ambiguous. This module breaks
 * score ties AGAINST the scorer: among tied models, the one with the lower
 * truth is taken as ranked higher. So every measure is the worst case over
 * all ways of breaking the ties, and a scorer gains nothing by giving many
 * models the same score. Ties in the truth need no rule: any model that
 * reaches the maximum truth is a best model.
 *
 *   top1_hit  the top pick reaches the maximum truth (equivalently regret = 0).
 *             Ties for the top score: a hit only when EVERY tied model reaches
 *             the maximum truth.
 *   regret    max truth − truth of the top pick; ties for the top score: the
 *             lowest truth among them. Always ≥ 0.
 *   rel_at_3  (best truth among the top 3 by score) / (max truth); the top 3
 *             are the first min(3, n) models of the pessimistic order above,
 *             so at a tie across the cut, the tied models with the lowest
 *             truths fill the remaining places. null when max truth ≤ 0, where
 *             the ratio has no meaning as a fraction of the best. It can be
 *             negative when truths of both signs occur.
 *
 * The rank correlations here are O(n²) pairwise sums, written straight from
 * their definitions. n is the number of candidate models (tens to a few
 * hundred), so this costs microseconds to milliseconds and keeps the code
 * checkable against the papers.
 *
 * Pure: no I/O. Invalid input (lengths differ, n < 2, a non-finite value)
 * throws InputError.
 */
import { InputError } from './errors.js';

export type NumericVector = Float64Array | readonly number[];

export interface Evaluation {
  readonly n: number;
  readonly weighted_tau: number | null;
  readonly weighted_tau_truth_rank: number | null;
  readonly kendall_tau_b: number | null;
  readonly spearman: number | null;
  readonly pearson: number | null;
  readonly top1_hit: boolean;
  readonly regret: number;
  readonly rel_at_3: number | null;
}

/** How many models rel_at_3 looks at. */
const TOP_K = 3;

/** Evaluates one score vector against the ground truth (see the module comment). */
export function evaluateScores(score: NumericVector, truth: NumericVector): Evaluation {
  const n = checkPair(score, truth);
  return {
    n,
    weighted_tau: weightedTau(score, truth),
    weighted_tau_truth_rank: weightedTauRanked(truth, score, decreasingLexRank(truth, score)),
    kendall_tau_b: kendallTauB(score, truth),
    spearman: spearmanRho(score, truth),
    pearson: pearsonR(score, truth),
    ...topPick(score, truth),
  };
}

// ---------------------------------------------------------------- input checks

/** Returns n after checking equal lengths, n ≥ 2 and finite values. */
function checkPair(x: NumericVector, y: NumericVector): number {
  if (x.length !== y.length) {
    throw new InputError(`evaluation: score and truth must have one value per model; found ${x.length} scores and ${y.length} truths`);
  }
  if (x.length < 2) throw new InputError(`evaluation: needs at least 2 models to compare rankings; found ${x.length}`);
  checkFinite(x, 'score');
  checkFinite(y, 'truth');
  return x.length;
}

function checkFinite(v: NumericVector, what: string): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new InputError(`evaluation: ${what} must be finite; found ${v[i]} at position ${i}`);
  }
}

// ---------------------------------------------------------------- weighted tau

/**
 * scipy.stats.weightedtau(x, y) with its defaults: the hyperbolic weigher
 * 1/(r + 1), additive pair weights and rank=True, i.e. the mean of the values
 * obtained with the decreasing lexicographic rank by (x, y) and by (y, x).
 * Averaging the two (scipy's choice) makes the value symmetric in x and y.
 * null when x or y is constant.
 */
export function weightedTau(x: NumericVector, y: NumericVector): number | null {
  const byX = weightedTauRanked(x, y, decreasingLexRank(x, y));
  const byY = weightedTauRanked(x, y, decreasingLexRank(y, x));
  return byX === null || byY === null ? null : (byX + byY) / 2;
}

/**
 * scipy.stats.weightedtau(x, y, rank=rank): Vigna's weighted τ with the
 * hyperbolic weigher and additive pair weights, for a given importance rank
 * (0 = most important element). null when x or y is constant.
 *
 * S. Vigna, "A weighted correlation index for rankings with ties", WWW 2015:
 * element i weighs w_i = 1/(rank_i + 1) and the pair {i, j} weighs
 * w_i + w_j. Ties are treated as in τ-b: pairs tied in x leave the x part of
 * the normalisation, pairs tied in y the y part, so
 *
 *   τ_w = Σ_{i<j} (w_i + w_j)·sgn(x_i − x_j)·sgn(y_i − y_j)
 *         / sqrt(Σ_{x_i≠x_j} (w_i + w_j) · Σ_{y_i≠y_j} (w_i + w_j)).
 *
 * scipy evaluates the same quantity by merge sort (concordant − discordant
 * = all − ties in x − ties in y + joint ties − 2·discordant) and clips to
 * [−1, 1] to hide rounding; so does this function.
 */
export function weightedTauRanked(x: NumericVector, y: NumericVector, rank: ArrayLike<number>): number | null {
  const n = checkPair(x, y);
  if (rank.length !== n) throw new InputError(`evaluation: the rank must have ${n} entries; found ${rank.length}`);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 1 / (rank[i] + 1);
  return tauWithElementWeights(x, y, w);
}

/**
 * The decreasing lexicographic rank by (primary, secondary): rank 0 goes to
 * the element with the largest primary value, ties broken by the larger
 * secondary value. This is the rank scipy builds when rank=None (a stable
 * ascending lexsort, reversed). Elements equal in both get consecutive ranks
 * with the later index first, as in scipy; since such elements stand in the
 * same relation to every other element, which of them gets which rank does
 * not change τ_w.
 */
export function decreasingLexRank(primary: NumericVector, secondary: NumericVector): Int32Array {
  const n = checkPair(primary, secondary);
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => compare(primary[b], primary[a]) || compare(secondary[b], secondary[a]) || b - a);
  const rank = new Int32Array(n);
  order.forEach((element, position) => {
    rank[element] = position;
  });
  return rank;
}

/**
 * The shared kernel of τ_w and τ-b: pair {i, j} weighs w_i + w_j. Returns
 * null when every pair is tied in x or every pair is tied in y (a constant
 * vector), where the index is 0/0.
 */
function tauWithElementWeights(x: NumericVector, y: NumericVector, w: Float64Array): number | null {
  let signed = 0;
  let untiedX = 0;
  let untiedY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const pairWeight = w[i] + w[j];
      const sx = compare(x[i], x[j]);
      const sy = compare(y[i], y[j]);
      signed += pairWeight * sx * sy;
      if (sx !== 0) untiedX += pairWeight;
      if (sy !== 0) untiedY += pairWeight;
    }
  }
  if (untiedX === 0 || untiedY === 0) return null;
  return clampUnit(signed / Math.sqrt(untiedX) / Math.sqrt(untiedY));
}

// ---------------------------------------------------------------------- τ-b

/**
 * Kendall's τ-b (M. G. Kendall, "The treatment of ties in ranking problems",
 * Biometrika 33, 1945): (concordant − discordant) / sqrt(n_x · n_y), where
 * n_x (n_y) counts the pairs not tied in x (y). It is τ_w with every pair
 * weighing 1; with unit weights all sums are exact integers, so the value
 * equals scipy.stats.kendalltau(x, y) up to the final division. null when x
 * or y is constant.
 */
export function kendallTauB(x: NumericVector, y: NumericVector): number | null {
  const n = checkPair(x, y);
  return tauWithElementWeights(x, y, new Float64Array(n).fill(0.5));
}

// ------------------------------------------------------- Spearman and Pearson

/**
 * Spearman's ρ as scipy.stats.spearmanr computes it: the Pearson correlation
 * of the average ranks (ties share the mean of the positions they occupy).
 * null when x or y is constant.
 */
export function spearmanRho(x: NumericVector, y: NumericVector): number | null {
  checkPair(x, y);
  return pearsonR(averageRanks(x), averageRanks(y));
}

/** 1-based ranks in ascending order; tied values get the mean of their positions. */
export function averageRanks(v: NumericVector): Float64Array {
  const order = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => compare(v[a], v[b]));
  const ranks = new Float64Array(v.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && v[order[end]] === v[order[start]]) end++;
    // positions start+1 .. end (1-based) share their mean
    const mean = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = mean;
    start = end;
  }
  return ranks;
}

/**
 * Pearson's r, computed as scipy.stats.pearsonr does: centre, scale each
 * centred vector by its largest magnitude before the norm (so that no square
 * overflows), take the dot product of the unit vectors and clip to [−1, 1].
 * For n = 2 scipy returns exactly ±1; so does this. null when x or y is
 * exactly constant (scipy: NaN with a ConstantInputWarning).
 */
export function pearsonR(x: NumericVector, y: NumericVector): number | null {
  const n = checkPair(x, y);
  if (isConstant(x) || isConstant(y)) return null;
  const ux = unitCentred(x);
  const uy = unitCentred(y);
  let dot = 0;
  for (let i = 0; i < n; i++) dot += ux[i] * uy[i];
  const r = clampUnit(dot);
  return n === 2 ? Math.round(r) : r;
}

/** (v − mean) / ‖v − mean‖ for a non-constant v. */
function unitCentred(v: NumericVector): Float64Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i];
  const mean = sum / v.length;
  const c = Float64Array.from(v, (value) => value - mean);
  let scale = 0;
  for (const value of c) scale = Math.max(scale, Math.abs(value));
  let sq = 0;
  for (const value of c) sq += (value / scale) ** 2;
  const norm = scale * Math.sqrt(sq);
  return c.map((value) => value / norm);
}

// --------------------------------------------------------- top-pick measures

/** top1_hit, regret and rel_at_3 under the pessimistic tie rule of the module comment. */
function topPick(score: NumericVector, truth: NumericVector): Pick<Evaluation, 'top1_hit' | 'regret' | 'rel_at_3'> {
  const order = pessimisticOrder(score, truth);
  const best = maxOf(truth, truth.length);
  const pickTruth = truth[order[0]];
  const bestInTop = maxOf(
    order.map((i) => truth[i]),
    Math.min(TOP_K, order.length),
  );
  return {
    top1_hit: pickTruth === best,
    regret: best - pickTruth,
    rel_at_3: best > 0 ? bestInTop / best : null,
  };
}

/** Indices by decreasing score; ties in the score by increasing truth (the worst case for the scorer). */
function pessimisticOrder(score: NumericVector, truth: NumericVector): number[] {
  const order = Array.from({ length: score.length }, (_, i) => i);
  return order.sort((a, b) => compare(score[b], score[a]) || compare(truth[a], truth[b]) || a - b);
}

// ------------------------------------------------------------------- helpers

/** −1, 0 or 1; −0 and 0 compare equal. */
function compare(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The largest of the first `count` values. */
function maxOf(v: NumericVector, count: number): number {
  let m = -Infinity;
  for (let i = 0; i < count; i++) m = Math.max(m, v[i]);
  return m;
}

function isConstant(v: NumericVector): boolean {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
}

/** Rounding can push a correlation a few ulps past ±1; scipy clips, and so do we. */
function clampUnit(r: number): number {
  return Math.min(1, Math.max(-1, r));
}
