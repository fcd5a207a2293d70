/**
 * Per-model context handed to every scorer. It owns the model's inputs and
 * memoises work that several scorers share, so that running LogME and DISCO
 * on one model decomposes its features once per kind of decomposition.
 */
import { ScorerError } from './errors.js';
import { matrixSource, type RowSource } from './source.js';
import { spectralProjection, type SpectralProjection } from './spectral.js';
import { summarize, type FeatureSummary } from './summary.js';
import type { Matrix, Targets } from './types.js';

export interface ModelInputs {
  readonly name: string;
  readonly features?: Matrix;
  /** Features streamed from a file too large to hold (instead of `features`). */
  readonly featureRows?: RowSource;
  /** Source-head probabilities (rows sum to 1), already converted from logits if needed. */
  readonly probs?: Matrix;
}

/** Per-scorer parameters, keyed by scorer id (e.g. `{ disco: { groups: 8 } }`). */
export type ScorerParams = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

export class ModelContext {
  readonly name: string;
  readonly params: ScorerParams;
  readonly features: Matrix | undefined;
  readonly probs: Matrix | undefined;
  readonly targets: Targets;
  private readonly rows: RowSource | undefined;
  private summaryMemo: FeatureSummary | undefined;
  private projection: SpectralProjection | undefined;

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

  /** Eigenvalues of the smaller Gram matrix of the raw features and the targets projected on its eigenvectors. */
  spectralProjection(): SpectralProjection {
    if (!this.projection) {
      const s = this.featureSummary();
      this.projection = spectralProjection(s.rows > s.cols ? this.rows!.matrix ?? null : this.requireFeatures(), s, this.targets);
    }
    return this.projection;
  }
}
