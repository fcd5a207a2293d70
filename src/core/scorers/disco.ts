/**
 * DISCO — distribution of spectral components.
 *
 * Zhang, Shu, Chen, Long, Guo, Yang, "Assessing Pre-trained Models for
 * Transfer Learning through Distribution of Spectral Components", AAAI 2025
 * (arXiv:2412.19085). Definition: specs/disco.md §1 (checked against the
 * authors' released code, decisionintelligence/DISCO 3a09860).
 *
 * Inputs: features F (N × D); targets: class labels (classification) or an
 * N × m matrix (regression, §1.2). Multi-label is not supported.
 * Steps: exact PCA of the centred features to k_eff = min(components, N, D)
 * scores Z (N × k_eff); σ_j = ‖Z[:, j]‖; G disjoint groups of s = ⌊k_eff/G⌋
 * consecutive components (largest first); per group an identity-covariance
 * nearest-class-mean Gaussian with prior N_c/N (mean true-class probability,
 * ncc_g) or −MSE of the least-squares fit of the targets (lr_g); score
 * Σ_g ratio_g · ncc_g (or lr_g) with ratio_g = Σ_{j∈g} σ_j / Σ_j σ_j.
 * Output: classification in (0, 1], regression ≤ 0; higher is better.
 *
 * Deviations from the authors' code (specs/disco.md §3): exact deterministic
 * PCA instead of sklearn's randomized PCA (A4); k_eff is also capped at D and
 * k_eff < G gives k_eff groups of one component with a warning (A8);
 * components whose eigenvalue is numerically zero (λ_j ≤ λ_1·max(N, D)·2.2e-16)
 * count as exactly 0 (fixtures/README.md); float64 throughout (A16); an
 * opt-in global rescale to unit mean variance (A9); the regression variant
 * (§1.2), which the authors did not release.
 */
import { ScorerError } from '../errors.js';
import { resolveParams, type ParamSpecs } from './params.js';
import { ModelContext } from '../context.js';
import type { ClassTargets, Matrix, Targets, ValueTargets } from '../types.js';
import type { Scorer, ScoreResult } from './scorer.js';

export interface DiscoOptions {
  /** Number of disjoint groups G (the authors hard-code 8). */
  groups: number;
  /** PCA dimension k before grouping (the authors' `--pcadim`, 128). */
  components: number;
  /** 'unit-variance': divide the features by one scalar so that the mean per-dimension variance is 1 (A9). */
  rescale: 'none' | 'unit-variance';
}

export const DISCO_DEFAULTS: Readonly<DiscoOptions> = Object.freeze({ groups: 8, components: 128, rescale: 'none' });

export type DiscoDetails = {
  /** σ_j = ‖Z[:, j]‖ for the k_eff retained components, descending (after any rescale). */
  readonly singular_values: number[];
  readonly ratio: number[];
  /** Classification: per-group mean true-class probability. */
  readonly ncc?: number[];
  /** Regression: per-group −MSE. */
  readonly lr?: number[];
  readonly n_components: number;
  readonly groups: number;
  readonly group_size: number;
  readonly pca: 'exact';
  readonly covariance: 'identity';
  readonly rescale: DiscoOptions['rescale'];
  /** Mean per-dimension variance of the features as given (population variance, ÷N). */
  readonly mean_variance: number;
  /** Classification: Σ_c π_c², the value every ncc_g tends to when no group separates the classes. */
  readonly prior?: number;
};

export interface DiscoResult {
  readonly value: number;
  readonly warnings: string[];
  readonly details: DiscoDetails;
  readonly uninformative?: string;
}

/**
 * Below this share of the way from the prior Σπ_c² to perfect separation, the
 * best group's posteriors count as uninformative (README, DISCO "Feature
 * scale matters"): the score then mostly reflects the feature scale.
 */
const UNINFORMATIVE_GAIN = 0.05;
/** …and below this relative lift of the true-class posterior over the prior. */
const UNINFORMATIVE_LIFT = 0.25;

// ---------------------------------------------------------------------------
// Options.

/** DISCO's parameters (flags --disco-groups, --disco-components, --disco-rescale). */
export const DISCO_PARAMS = {
  groups: { type: 'integer', default: 8, min: 1, help: 'number of disjoint spectral groups (the authors hard-code 8)' },
  components: { type: 'integer', default: 128, min: 1, help: 'principal components kept before grouping (the authors\' --pcadim)' },
  rescale: {
    type: 'enum',
    values: ['none', 'unit-variance'],
    default: 'none',
    help: 'none (as the reference) or unit-variance: divide the features by one scalar so the mean per-dimension variance is 1',
  },
} as const satisfies ParamSpecs;

function positiveInteger(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ScorerError(`DISCO: ${name} must be an integer ≥ 1, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** DISCO options from `ctx.params.disco`, merged over the defaults and validated. */
export function discoOptions(params: Readonly<Record<string, unknown>> | undefined): DiscoOptions {
  try {
    return resolveParams('disco', DISCO_PARAMS, params ?? {}, (name) => `DISCO: ${name}`) as unknown as DiscoOptions;
  } catch (err) {
    throw new ScorerError((err as Error).message);
  }
}

// ---------------------------------------------------------------------------
// Exact PCA of the centred features.

// ---------------------------------------------------------------------------
// Groups.

/** Mean true-class probability of the identity-covariance Gaussian on Z[:, off … off+s−1] (§1.1 step 5). */
function nccGroup(
  z: Float64Array,
  n: number,
  k: number,
  off: number,
  s: number,
  labels: Int32Array,
  counts: Float64Array,
  logPrior: Float64Array,
  means: Float64Array,
  logits: Float64Array,
  row: Float64Array,
): number {
  const numClasses = counts.length;
  means.fill(0, 0, numClasses * s);
  for (let i = 0; i < n; i++) {
    const src = i * k + off;
    const dst = labels[i] * s;
    for (let j = 0; j < s; j++) means[dst + j] += z[src + j];
  }
  for (let c = 0; c < numClasses; c++) {
    if (counts[c] === 0) continue;
    const inv = 1 / counts[c];
    for (let j = 0; j < s; j++) means[c * s + j] *= inv;
  }
  // Four classes per pass share the loads of the sample's coordinates. An
  // empty class has log prior −∞, hence logit −∞ and probability 0.
  const c4 = numClasses & ~3;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const src = i * k + off;
    for (let j = 0; j < s; j++) row[j] = z[src + j];
    let max = -Infinity;
    let c = 0;
    for (; c < c4; c += 4) {
      const m0 = c * s;
      const m1 = m0 + s;
      const m2 = m1 + s;
      const m3 = m2 + s;
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      for (let j = 0; j < s; j++) {
        const x = row[j];
        const e0 = x - means[m0 + j];
        const e1 = x - means[m1 + j];
        const e2 = x - means[m2 + j];
        const e3 = x - means[m3 + j];
        d0 += e0 * e0;
        d1 += e1 * e1;
        d2 += e2 * e2;
        d3 += e3 * e3;
      }
      const l0 = logPrior[c] - 0.5 * d0;
      const l1 = logPrior[c + 1] - 0.5 * d1;
      const l2 = logPrior[c + 2] - 0.5 * d2;
      const l3 = logPrior[c + 3] - 0.5 * d3;
      logits[c] = l0;
      logits[c + 1] = l1;
      logits[c + 2] = l2;
      logits[c + 3] = l3;
      if (l0 > max) max = l0;
      if (l1 > max) max = l1;
      if (l2 > max) max = l2;
      if (l3 > max) max = l3;
    }
    for (; c < numClasses; c++) {
      const mo = c * s;
      let d2 = 0;
      for (let j = 0; j < s; j++) {
        const e = row[j] - means[mo + j];
        d2 += e * e;
      }
      const l = logPrior[c] - 0.5 * d2;
      logits[c] = l;
      if (l > max) max = l;
    }
    let sum = 0;
    for (let q = 0; q < numClasses; q++) {
      const x = logits[q] - max;
      // exp(−746) is 0 in float64: skip the call.
      if (x > -746) sum += Math.exp(x);
    }
    total += Math.exp(logits[labels[i]] - max) / sum;
  }
  return total / n;
}

/**
 * −‖B − U_g U_gᵀ B‖²_F / (N·m) (§1.2), U_g = the group's columns of Z over
 * their σ, without the columns with σ_j ≤ tol (pinv semantics).
 */
function lrGroup(z: Float64Array, n: number, k: number, off: number, s: number, sigma: Float64Array, tol: number, b: Float64Array, m: number): number {
  const keep: number[] = [];
  for (let j = 0; j < s; j++) if (sigma[off + j] > tol) keep.push(off + j);
  const q = keep.length;
  const inv = new Float64Array(q);
  for (let a = 0; a < q; a++) inv[a] = 1 / sigma[keep[a]];
  // P = U_gᵀ B (q × m).
  const p = new Float64Array(q * m);
  for (let i = 0; i < n; i++) {
    const zo = i * k;
    const bo = i * m;
    for (let a = 0; a < q; a++) {
      const u = z[zo + keep[a]] * inv[a];
      if (u === 0) continue;
      for (let c = 0; c < m; c++) p[a * m + c] += u * b[bo + c];
    }
  }
  const u = new Float64Array(q);
  let sse = 0;
  for (let i = 0; i < n; i++) {
    const zo = i * k;
    const bo = i * m;
    for (let a = 0; a < q; a++) u[a] = z[zo + keep[a]] * inv[a];
    for (let c = 0; c < m; c++) {
      let fit = 0;
      for (let a = 0; a < q; a++) fit += u[a] * p[a * m + c];
      const r = b[bo + c] - fit;
      sse += r * r;
    }
  }
  return -sse / (n * m);
}

function classStatistics(t: ClassTargets, n: number): { counts: Float64Array; logPrior: Float64Array; prior: number } {
  const numClasses = t.numClasses;
  if (numClasses < 2) throw new ScorerError(`DISCO: classification needs at least 2 classes; found ${numClasses}`);
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < n; i++) {
    const c = t.labels[i];
    if (!(c >= 0 && c < numClasses)) throw new ScorerError(`DISCO: label ${c} at row ${i} is outside 0..${numClasses - 1}`);
    counts[c]++;
  }
  const logPrior = new Float64Array(numClasses);
  let prior = 0;
  for (let c = 0; c < numClasses; c++) {
    const pi = counts[c] / n;
    logPrior[c] = Math.log(pi); // −∞ for an empty class: probability 0
    prior += pi * pi;
  }
  return { counts, logPrior, prior };
}

function regressionTargets(t: ValueTargets, n: number): { b: Float64Array; m: number } {
  if (t.n !== n) throw new ScorerError(`DISCO: ${t.n} target rows for ${n} feature rows`);
  const m = t.k;
  if (m < 1) throw new ScorerError('DISCO: regression needs at least one target column');
  for (let q = 0; q < n * m; q++) {
    const v = t.values[q];
    if (v - v !== 0) throw new ScorerError(`DISCO: targets must be finite (row ${Math.floor(q / m)}, column ${q % m})`);
  }
  return { b: t.values, m };
}

/**
 * DISCO score of features `f` for targets `t` (specs/disco.md §1.1, §1.2).
 * O(N·D² + D³) (or O(N²·D + N³) when N < D) for the PCA, O(N·D·k) for the
 * scores, O(N·C·k) (or O(N·m·k)) for the groups.
 */
export function discoScore(f: Matrix, t: Targets, opts: DiscoOptions): DiscoResult {
  const ctx = new ModelContext({ name: 'disco', features: f }, t);
  try {
    return discoFromContext(ctx, opts);
  } finally {
    ctx.dispose();
  }
}

/** DISCO on a model context: its PCA is the context's, shared with the other scorers of the model. */
export function discoFromContext(ctx: ModelContext, opts: DiscoOptions): DiscoResult {
  const f = ctx.requireFeatures();
  const t = ctx.targets;
  const { rows: n, cols: d } = f;
  if (t.type === 'multilabel') throw new ScorerError('DISCO does not support multilabel tasks');
  const targetRows = t.type === 'classification' ? t.labels.length : t.n;
  if (targetRows !== n) throw new ScorerError(`DISCO: ${targetRows} targets for ${n} feature rows`);
  if (n < 2 || d < 1) throw new ScorerError(`DISCO: needs at least 2 samples and 1 feature dimension (got N=${n}, D=${d})`);
  const groupsAsked = positiveInteger(opts.groups, 'groups');
  const components = positiveInteger(opts.components, 'components');
  if (opts.rescale !== 'none' && opts.rescale !== 'unit-variance') {
    throw new ScorerError(`DISCO: rescale must be 'none' or 'unit-variance', got ${JSON.stringify(opts.rescale)}`);
  }
  const cls = t.type === 'classification' ? classStatistics(t, n) : undefined;
  const reg = t.type === 'regression' ? regressionTargets(t, n) : undefined;

  const pca = ctx.pca(Math.min(components, n, d));
  // Our own copies: the rescale below changes them, and the context's are shared.
  const z = Float64Array.from(pca.z);
  const sigma = Float64Array.from(pca.sigma);
  const k = pca.k;
  const meanVariance = pca.trace / (n * d);
  if (opts.rescale === 'unit-variance') {
    // Dividing F by √(mean variance) divides Z and σ by the same scalar; V is unchanged.
    const inv = 1 / Math.sqrt(meanVariance);
    for (let q = 0; q < z.length; q++) z[q] *= inv;
    for (let c = 0; c < k; c++) sigma[c] *= inv;
  }

  const warnings: string[] = [];
  let groups = groupsAsked;
  let size = Math.floor(k / groupsAsked);
  if (k < groupsAsked) {
    groups = k;
    size = 1;
    warnings.push(
      `DISCO: only ${k} principal components (min of components ${components}, N ${n}, D ${d}) for ${groupsAsked} groups; using ${k} groups of 1 component`,
    );
  }
  let sigmaSum = 0;
  for (let c = 0; c < k; c++) sigmaSum += sigma[c];
  const ratio: number[] = [];
  for (let g = 0; g < groups; g++) {
    let s = 0;
    for (let j = g * size; j < (g + 1) * size; j++) s += sigma[j];
    ratio.push(s / sigmaSum);
  }

  const per: number[] = [];
  let nccAll: ((zz: Float64Array) => number[]) | undefined;
  if (cls) {
    const numClasses = cls.counts.length;
    const means = new Float64Array(numClasses * size);
    const logits = new Float64Array(numClasses);
    const row = new Float64Array(size);
    const labels = (t as ClassTargets).labels;
    nccAll = (zz) => {
      const out: number[] = [];
      for (let g = 0; g < groups; g++) out.push(nccGroup(zz, n, k, g * size, size, labels, cls.counts, cls.logPrior, means, logits, row));
      return out;
    };
    per.push(...nccAll(z));
  } else {
    const { b, m } = reg!;
    let sigmaMax = 0;
    for (let c = 0; c < k; c++) if (sigma[c] > sigmaMax) sigmaMax = sigma[c];
    const tol = Math.max(n, k) * Number.EPSILON * sigmaMax;
    for (let g = 0; g < groups; g++) per.push(lrGroup(z, n, k, g * size, size, sigma, tol, b, m));
  }
  let value = 0;
  for (let g = 0; g < groups; g++) value += ratio[g] * per[g];

  let uninformative: string | undefined;
  if (cls && nccAll) {
    // Uninformative: the best group gets little of the way from the prior towards perfect
    // separation, and its true-class posterior is barely above the prior (with 200
    // classes, 0.033 against 0.005 is little of the way but 6.5 times the prior).
    const best = (ncc: number[]): number => Math.max(...ncc);
    const gain = (ncc: number[]): number => (best(ncc) - cls.prior) / (1 - cls.prior);
    const near = (ncc: number[]): boolean => gain(ncc) < UNINFORMATIVE_GAIN && best(ncc) < (1 + UNINFORMATIVE_LIFT) * cls.prior;
    if (near(per)) {
      const head =
        `DISCO: every group's class posteriors are close to the class prior (best group ${Math.max(...per).toPrecision(4)} against ` +
        `Σπ_c² = ${cls.prior.toPrecision(4)}, ${(100 * Math.max(0, gain(per))).toPrecision(2)}% of the way to perfect separation)`;
      // A9: is the feature scale to blame? Re-run the groups (O(N·C·k), no new PCA) at unit mean variance.
      let rescaled: number[] | undefined;
      if (opts.rescale === 'none') {
        const inv = 1 / Math.sqrt(meanVariance);
        for (let q = 0; q < z.length; q++) z[q] *= inv;
        rescaled = nccAll(z);
      }
      if (rescaled !== undefined && !near(rescaled)) {
        let would = 0;
        for (let g = 0; g < groups; g++) would += ratio[g] * rescaled[g];
        warnings.push(
          `${head}: at this feature scale (mean per-dimension variance ${meanVariance.toPrecision(3)}) the unit-covariance ` +
            `Gaussian cannot tell the classes apart, so DISCO reflects the scale, not the features; with --disco-rescale unit-variance it would be ${would.toPrecision(4)}`,
        );
        uninformative = `the class posteriors are near the prior at this feature scale; try --disco-rescale unit-variance`;
      } else {
        warnings.push(`${head}: no spectral group separates the classes${rescaled ? ' (neither at this scale nor at unit variance)' : ''}`);
        uninformative = 'no spectral group separates the classes';
      }
    }
  }

  const details: DiscoDetails = {
    singular_values: Array.from(sigma),
    ratio,
    ...(cls ? { ncc: per } : { lr: per }),
    n_components: k,
    groups,
    group_size: size,
    pca: 'exact',
    covariance: 'identity',
    rescale: opts.rescale,
    mean_variance: meanVariance,
    ...(cls ? { prior: cls.prior } : {}),
  };
  return uninformative ? { value, warnings, details, uninformative } : { value, warnings, details };
}

export const disco: Scorer = {
  id: 'disco',
  title: 'DISCO',
  inputs: ['features'],
  tasks: ['classification', 'regression'],
  higherIsBetter: true,
  citation:
    'Zhang et al., Assessing Pre-trained Models for Transfer Learning through Distribution of Spectral Components, AAAI 2025 (arXiv:2412.19085)',
  description:
    'Singular-value-weighted class separability (nearest class mean, identity covariance) of groups of principal components of the features.',
  cost: 'O(N·D² + D³) for the exact PCA (O(N²·D + N³) when N < D), O(N·D·k) for the scores, O(N·C·k) for the groups',
  params: DISCO_PARAMS,
  score(ctx: ModelContext): ScoreResult {
    return discoFromContext(ctx, discoOptions(ctx.params.disco));
  },
};
