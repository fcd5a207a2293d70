/**
 * Per-model context handed to every scorer. It owns the model's inputs and
 * memoises the work scorers share, so that running every scorer on a model
 * builds each decomposition once (docs/scorers.md, "Shared work"):
 *
 * | method               | what                                                         | used by |
 * |----------------------|--------------------------------------------------------------|---------|
 * | featureSummary()     | one pass: checks, column sums, FᵀT (class sums)               | all     |
 * | columnMeans()        | μ (length D)                                                 | centred scorers |
 * | classStats()         | class counts and sums (D × C)                                 | class-based scorers |
 * | centredGram()        | the smaller Gram of the centred features, from centred rows   | H-scores, TransRate, SFDA, PCA |
 * | gram()               | the smaller uncentred Gram, derived from the centred one      | LogME, ridge-loo |
 * | centredSpectrum()    | the centred Gram reduced once: eigenvalues, VᵀB, leading V    | H-scores, TransRate, PCA |
 * | pca(k)               | k leading principal-component scores Z (N × k)                | DISCO, GBC, N-LEEP |
 * | spectralProjection() | LogME's eigenvalues and projected targets                    | LogME variants |
 *
 * "Smaller" Gram: Fᵀ F (D × D) when N > D, F Fᵀ (N × N) otherwise; every
 * method uses the same rule, so every scorer shares the same matrix. This
 * API is part of the library (plugins use it): docs/plugins.md.
 */
import { ScorerError } from './errors.js';
import { SymSpectrum, ZERO_CUT, centredGramCols, centredGramRows, projectCentred } from './linalg/index.js';
import { matrixSource, type RowSource } from './source.js';
import { spectralProjection, type SpectralProjection } from './spectral.js';
import { summarize, type FeatureSummary } from './summary.js';
import type { ClassTargets, Matrix, Targets } from './types.js';

export interface ModelInputs {
  readonly name: string;
  readonly features?: Matrix;
  /** Features streamed from a file too large to hold (instead of `features`). */
  readonly featureRows?: RowSource;
  /** Source-head probabilities (rows sum to 1), already converted from logits if needed. */
  readonly probs?: Matrix;
}

/** Per-scorer parameters, keyed by scorer id (e.g. `{ disco: { groups: 8 } }`), defaults filled in by the CLI. */
export type ScorerParams = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** A symmetric Gram matrix in the "smaller" shape (row-major, full). */
export interface GramMatrix {
  readonly data: Float64Array;
  /** D when `byCols` (Fᵀ F), N otherwise (F Fᵀ). */
  readonly size: number;
  readonly byCols: boolean;
}

/** Class counts and per-class column sums, for classification targets. */
export interface ClassStats {
  readonly numClasses: number;
  /** n_c, length C. */
  readonly counts: Float64Array;
  /** Σ_{i in c} F[i, j] at [j·C + c] (D × C, row-major). */
  readonly sums: Float64Array;
}

/** Principal components of the centred features. */
export interface PrincipalComponents {
  /** N × k row-major scores Z = Xc V_k; components with a numerically-zero eigenvalue are exactly 0. */
  readonly z: Float64Array;
  readonly k: number;
  /** σ_j = ‖Z[:, j]‖ (length k). */
  readonly sigma: Float64Array;
  /** Every eigenvalue of the smaller centred Gram, descending (length min(N, D) or the Gram's size). */
  readonly eigenvalues: Float64Array;
  /** trace(Xcᵀ Xc). */
  readonly trace: number;
}

export class ModelContext {
  readonly name: string;
  readonly params: ScorerParams;
  readonly features: Matrix | undefined;
  readonly probs: Matrix | undefined;
  readonly targets: Targets;
  private readonly rows: RowSource | undefined;
  private summaryMemo: FeatureSummary | undefined;
  private projection: SpectralProjection | undefined;
  private centredMemo: GramMatrix | undefined;
  private gramMemo: GramMatrix | undefined;
  private spectrumMemo: SymSpectrum | undefined;
  private pcaMemo: PrincipalComponents | undefined;
  private classMemo: ClassStats | undefined;

  constructor(inputs: ModelInputs, targets: Targets, params: ScorerParams = {}) {
    this.name = inputs.name;
    this.params = params;
    this.features = inputs.features;
    this.probs = inputs.probs;
    this.targets = targets;
    this.rows = inputs.featureRows ?? (inputs.features ? matrixSource(inputs.features) : undefined);
  }

  /** Features in memory, asserting presence (the registry guarantees it for scorers that declare the input). */
  requireFeatures(): Matrix {
    if (this.features) return this.features;
    if (this.rows) {
      throw new ScorerError(
        `the features are streamed from disk (${this.rows.rows} × ${this.rows.cols}, too large to hold in memory) and this scorer needs them in memory`,
      );
    }
    throw new Error(`internal: model ${this.name} has no features`);
  }

  /** The feature rows, in memory or streamed. */
  featureRows(): RowSource {
    if (!this.rows) throw new Error(`internal: model ${this.name} has no features`);
    return this.rows;
  }

  /**
   * One pass over the features: checks, column sums, FᵀT, and — when the
   * rows are streamed and N > D — FᵀF, so a streamed file is read once.
   */
  featureSummary(): FeatureSummary {
    const rows = this.featureRows();
    this.summaryMemo ??= summarize(rows, this.targets, { gram: rows.matrix === undefined && rows.rows > rows.cols });
    return this.summaryMemo;
  }

  requireProbs(): Matrix {
    if (!this.probs) throw new Error(`internal: model ${this.name} has no probabilities`);
    return this.probs;
  }

  /** The classification targets, or a ScorerError naming the scorer that needs them. */
  requireClasses(scorer: string): ClassTargets {
    if (this.targets.type !== 'classification') throw new ScorerError(`${scorer} needs class labels; the task is ${this.targets.type}`);
    return this.targets;
  }

  /** Column means μ. */
  columnMeans(): Float64Array {
    const s = this.featureSummary();
    if (s.nonFinite) {
      throw new ScorerError(`features must be finite; found ${s.nonFinite.value} at row ${s.nonFinite.row}, column ${s.nonFinite.col}`);
    }
    const mu = new Float64Array(s.cols);
    for (let j = 0; j < s.cols; j++) mu[j] = s.colSums[j] / s.rows;
    return mu;
  }

  /** Class counts and class sums (the one-hot FᵀY of the summary pass). */
  classStats(): ClassStats {
    if (this.classMemo) return this.classMemo;
    const t = this.requireClasses('this scorer');
    const s = this.featureSummary();
    this.classMemo = { numClasses: t.numClasses, counts: Float64Array.from(t.counts), sums: s.targetProducts };
    return this.classMemo;
  }

  /** Whether the smaller Gram is Fᵀ F (N > D) or F Fᵀ. */
  byCols(): boolean {
    const r = this.featureRows();
    return r.rows > r.cols;
  }

  /**
   * The smaller Gram of the centred features X = F − μ, built from explicitly
   * centred rows (Fᵀ F − N μ μᵀ would lose the small eigenvalues to
   * cancellation on features with an offset).
   */
  centredGram(): GramMatrix {
    if (this.centredMemo) return this.centredMemo;
    const f = this.requireFeatures();
    const mu = this.columnMeans();
    const byCols = this.byCols();
    const data = byCols ? centredGramCols(f, mu) : centredGramRows(f, mu);
    this.centredMemo = { data, size: byCols ? f.cols : f.rows, byCols };
    return this.centredMemo;
  }

  /**
   * The smaller uncentred Gram, derived from the centred one without another
   * pass over the features: Fᵀ F = Xᵀ X + N μ μᵀ, or
   * F Fᵀ = X Xᵀ + a 1ᵀ + 1 aᵀ + ‖μ‖² 1 1ᵀ with a_i = x_i·μ. Both add terms
   * that are positive in total, so nothing cancels. Streamed features (N > D)
   * take the Fᵀ F accumulated by the summary pass.
   */
  gram(): GramMatrix {
    if (this.gramMemo) return this.gramMemo;
    if (!this.features) {
      const s = this.featureSummary();
      if (!s.gram) this.requireFeatures();
      this.gramMemo = { data: s.gram!, size: s.cols, byCols: true };
      return this.gramMemo;
    }
    const c = this.centredGram();
    const mu = this.columnMeans();
    const f = this.features;
    const { rows: n, cols: d } = f;
    const g = Float64Array.from(c.data);
    if (c.byCols) {
      for (let i = 0; i < d; i++) {
        const m = n * mu[i];
        for (let j = 0; j < d; j++) g[i * d + j] += m * mu[j];
      }
    } else {
      let mu2 = 0;
      for (let j = 0; j < d; j++) mu2 += mu[j] * mu[j];
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (f.data[i * d + j] - mu[j]) * mu[j];
        a[i] = s;
      }
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i * n + j] += a[i] + a[j] + mu2;
    }
    this.gramMemo = { data: g, size: c.size, byCols: c.byCols };
    return this.gramMemo;
  }

  /** The centred Gram reduced once; its eigenvalues, projections and leading vectors. Released by dispose(). */
  centredSpectrum(): SymSpectrum {
    if (!this.spectrumMemo) {
      const c = this.centredGram();
      this.spectrumMemo = new SymSpectrum(c.data, c.size);
    }
    return this.spectrumMemo;
  }

  /**
   * The k leading principal components (k ≤ min(N, D)): Z = Xc V_k when the
   * Gram is Xcᵀ Xc, Z = U_k √λ_k when it is Xc Xcᵀ. Memoised for the largest
   * k asked; a smaller k reads the first columns.
   */
  pca(k: number): PrincipalComponents {
    const f = this.requireFeatures();
    const { rows: n, cols: d } = f;
    if (!Number.isInteger(k) || k < 1 || k > Math.min(n, d)) throw new RangeError(`pca: k must be an integer in 1..${Math.min(n, d)}, got ${k}`);
    const memo = this.pcaMemo;
    if (memo && memo.k >= k) return memo.k === k ? memo : firstComponents(memo, n, k);
    const spectrum = this.centredSpectrum();
    const c = this.centredGram();
    const values = spectrum.values;
    const lambda1 = values[0];
    if (!(lambda1 > 0)) throw new ScorerError('the features have zero variance (every column is constant)');
    const cut = lambda1 * Math.max(n, d) * ZERO_CUT;
    const vectors = spectrum.vectors(k);
    let z: Float64Array;
    if (c.byCols) {
      z = projectCentred(f, this.columnMeans(), vectors, k);
    } else {
      z = new Float64Array(n * k);
      for (let j = 0; j < k; j++) {
        const s = values[j] > cut ? Math.sqrt(values[j]) : 0;
        for (let i = 0; i < n; i++) z[i * k + j] = vectors[i * k + j] * s;
      }
    }
    // Numerically-zero components are exactly 0 (their value for centred, rank-deficient data).
    let zeroFrom = k;
    while (zeroFrom > 0 && !(values[zeroFrom - 1] > cut)) zeroFrom--;
    if (zeroFrom < k) for (let i = 0; i < n; i++) z.fill(0, i * k + zeroFrom, (i + 1) * k);
    const sigma = new Float64Array(k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) sigma[j] += z[i * k + j] * z[i * k + j];
    for (let j = 0; j < k; j++) sigma[j] = Math.sqrt(sigma[j]);
    let trace = 0;
    for (let i = 0; i < c.size; i++) trace += c.data[i * c.size + i];
    this.pcaMemo = { z, k, sigma, eigenvalues: values, trace };
    return this.pcaMemo;
  }

  /** Eigenvalues of the smaller Gram of the raw features and the targets projected on its eigenvectors (LogME). */
  spectralProjection(): SpectralProjection {
    if (!this.projection) {
      const s = this.featureSummary();
      const g = this.features ? this.gram().data : null;
      this.projection = spectralProjection(s.rows > s.cols ? this.rows!.matrix ?? null : this.requireFeatures(), s, this.targets, g);
    }
    return this.projection;
  }

  /** Frees what the context holds outside the JavaScript heap (the reduced spectrum's WebAssembly memory). */
  dispose(): void {
    this.spectrumMemo?.release();
  }
}

/** The first k columns of larger principal components. */
function firstComponents(p: PrincipalComponents, n: number, k: number): PrincipalComponents {
  const z = new Float64Array(n * k);
  for (let i = 0; i < n; i++) z.set(p.z.subarray(i * p.k, i * p.k + k), i * k);
  return { z, k, sigma: p.sigma.slice(0, k), eigenvalues: p.eigenvalues, trace: p.trace };
}
