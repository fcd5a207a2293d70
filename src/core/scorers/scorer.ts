/**
 * The Scorer interface. A scorer is a pure function of a model's inputs and the
 * task's targets; shared, expensive work (a decomposition of the features) is
 * requested from the per-model context so it is computed once per model.
 */
import type { ModelContext } from '../context.js';
import type { TaskType } from '../types.js';
import type { ParamSpecs } from './params.js';

export type ScorerInput = 'features' | 'probs';

export interface ScoreResult {
  readonly value: number;
  readonly warnings: readonly string[];
  /** Scorer-specific detail for the JSON report (per-group values, iterations, …). */
  readonly details?: Readonly<Record<string, unknown>>;
  /**
   * Set when the value sits at the uninformative edge of the scorer's range
   * (saturated, or at its chance value), with the reason: when every model is
   * in that state, the ranking by this scorer is noise and the report says so.
   */
  readonly uninformative?: string;
}

export interface Scorer {
  readonly id: string;
  readonly title: string;
  /** Inputs the model must provide; a model without them gets `n/a`, not a failure. */
  readonly inputs: readonly ScorerInput[];
  readonly tasks: readonly TaskType[];
  /** Every scorer we ship predicts better transfer with a larger value. */
  readonly higherIsBetter: boolean;
  readonly citation: string;
  readonly description: string;
  /** Time and memory in one line (`O(N·D² + D³), shares the centred Gram`), for `rank-models scorers` and docs. */
  readonly cost: string;
  /** Parameters, each with type, default, range and one line of help (params.ts). */
  readonly params?: ParamSpecs;
  score(ctx: ModelContext): ScoreResult;
}
