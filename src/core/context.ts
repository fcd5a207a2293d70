/**
 * Per-model context handed to every scorer. It owns the model's inputs and
 * memoises work that several scorers share, so that running LogME and DISCO
 * on one model decomposes its features once per kind of decomposition.
 */
import { spectralProjection, type SpectralProjection } from './spectral.js';
import type { Matrix, Targets } from './types.js';

export interface ModelInputs {
  readonly name: string;
  readonly features?: Matrix;
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
  private projection: SpectralProjection | undefined;

  constructor(inputs: ModelInputs, targets: Targets, params: ScorerParams = {}) {
    this.name = inputs.name;
    this.params = params;
    this.features = inputs.features;
    this.probs = inputs.probs;
    this.targets = targets;
  }

  /** Features, asserting presence (the registry guarantees it for scorers that declare the input). */
  requireFeatures(): Matrix {
    if (!this.features) throw new Error(`internal: model ${this.name} has no features`);
    return this.features;
  }

  requireProbs(): Matrix {
    if (!this.probs) throw new Error(`internal: model ${this.name} has no probabilities`);
    return this.probs;
  }

  /** Eigenvalues of the smaller Gram matrix of the raw features and the targets projected on its eigenvectors. */
  spectralProjection(): SpectralProjection {
    this.projection ??= spectralProjection(this.requireFeatures(), this.targets);
    return this.projection;
  }
}
