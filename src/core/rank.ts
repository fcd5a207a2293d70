/**
 * Runs the selected scorers on every model, shares per-model work through one
 * ModelContext per model, and orders the models. One failing model or cell
 * never stops the others (docs/users.md #8).
 */
import { ModelContext, type ModelInputs, type ScorerParams } from './context.js';
import { RankModelsError } from './errors.js';
import { scorers, type ScorerId, type ScorerInput } from './scorers/index.js';
import type { Targets } from './types.js';
import { checkFeatures, checkProbs, checkRowCount, targetCount } from './validate.js';

export type Cell =
  | {
      readonly status: 'ok';
      readonly value: number;
      rank: number;
      readonly timeMs: number;
      readonly warnings: readonly string[];
      readonly details?: Readonly<Record<string, unknown>>;
    }
  | { readonly status: 'n/a' | 'error'; readonly value: null; readonly message: string };

/**
 * A model as the loaders hand it over: the inputs that loaded, and for each
 * input that did not, the reason. Scorers that need a failed input report an
 * error; the others still run.
 */
export interface ModelEntry {
  readonly name: string;
  readonly inputs: ModelInputs;
  readonly inputErrors?: Partial<Record<ScorerInput, string>>;
  /** Where each input came from, for messages. */
  readonly sources: Partial<Record<ScorerInput, string>>;
}

export interface ModelResult {
  readonly name: string;
  readonly status: 'ok' | 'error' | 'skipped';
  readonly message?: string;
  readonly warnings: string[];
  readonly scores: Partial<Record<ScorerId, Cell>>;
  /** Mean of per-scorer ranks (mean-rank method), or the sort scorer's rank. */
  aggregate: number | null;
}

export type RankingMethod = 'mean-rank' | `score:${ScorerId}`;

export interface Ranking {
  readonly method: RankingMethod;
  readonly order: string[];
  readonly best: string | null;
  /**
   * Distance between the first and second model on the ordering key: the
   * score difference for `score:ID`, the mean-rank difference for `mean-rank`.
   */
  readonly margin: number | null;
}

export interface RankOutput {
  readonly models: ModelResult[];
  readonly ranking: Ranking;
}

export type RankEvent =
  | { type: 'model-start'; name: string; index: number; total: number }
  | { type: 'model-done'; name: string; index: number; total: number; ms: number; status: ModelResult['status'] };

export interface RankOptions {
  readonly scorers: readonly ScorerId[];
  readonly sortBy?: ScorerId;
  readonly params?: ScorerParams;
  readonly onEvent?: (e: RankEvent) => void;
}

function now(): number {
  return globalThis.performance.now();
}

function message(err: unknown): string {
  if (err instanceof RankModelsError) return err.message;
  if (err instanceof Error) return `internal error: ${err.message}`;
  return `internal error: ${String(err)}`;
}

export function scoreModel(entry: ModelEntry, targets: Targets, ids: readonly ScorerId[], params: ScorerParams): ModelResult {
  const scores: Partial<Record<ScorerId, Cell>> = {};
  const warnings: string[] = [];
  const n = targetCount(targets);
  const inputErrors: Partial<Record<ScorerInput, string>> = { ...entry.inputErrors };
  const { features, featureRows, probs } = entry.inputs;
  const ctx = new ModelContext(entry.inputs, targets, params);
  const needsFeatures = ids.some((id) => (scorers[id].inputs as readonly ScorerInput[]).includes('features') && scorers[id].tasks.includes(targets.type));
  if ((features || featureRows) && !inputErrors.features && needsFeatures) {
    const source = entry.sources.features ?? entry.name;
    try {
      checkRowCount((features ?? featureRows)!.rows, n, 'features', source);
      warnings.push(...checkFeatures(ctx.featureSummary(), source));
    } catch (err) {
      inputErrors.features = message(err);
    }
  }
  if (probs && !inputErrors.probs) {
    try {
      checkProbs(probs, n, entry.sources.probs ?? entry.name);
    } catch (err) {
      inputErrors.probs = message(err);
    }
  }
  for (const id of ids) {
    const scorer = scorers[id];
    if (!scorer.tasks.includes(targets.type)) {
      scores[id] = { status: 'n/a', value: null, message: `${scorer.title} does not support ${targets.type} tasks` };
      continue;
    }
    const failed = scorer.inputs.find((input) => inputErrors[input] !== undefined);
    if (failed) {
      scores[id] = { status: 'error', value: null, message: inputErrors[failed]! };
      continue;
    }
    const present = { features: features ?? featureRows, probs };
    const missing = scorer.inputs.find((input) => !present[input]);
    if (missing) {
      scores[id] = { status: 'n/a', value: null, message: `no ${missing === 'probs' ? 'source-head probabilities' : missing} given for this model` };
      continue;
    }
    const t0 = now();
    try {
      const r = scorer.score(ctx);
      if (!Number.isFinite(r.value)) {
        scores[id] = { status: 'error', value: null, message: `${scorer.title} produced a non-finite value (${r.value})` };
      } else {
        scores[id] = { status: 'ok', value: r.value, rank: 0, timeMs: now() - t0, warnings: r.warnings, details: r.details };
      }
    } catch (err) {
      scores[id] = { status: 'error', value: null, message: message(err) };
    }
  }
  const cells = Object.values(scores) as Cell[];
  const anyOk = cells.some((c) => c.status === 'ok');
  const allNa = cells.length > 0 && cells.every((c) => c.status === 'n/a');
  const firstError = cells.find((c) => c.status === 'error');
  const status = anyOk ? 'ok' : allNa ? 'skipped' : 'error';
  const msg = status === 'ok' ? undefined : firstError && firstError.status === 'error' ? firstError.message : 'no scorer applies to this model';
  return { name: entry.name, status, message: msg, warnings, scores, aggregate: null };
}

function byName(a: ModelResult, b: ModelResult): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Assigns 1-based ranks per scorer: higher value first, ties by model name. */
function assignRanks(results: ModelResult[], ids: readonly ScorerId[]): void {
  for (const id of ids) {
    const sign = scorers[id].higherIsBetter ? -1 : 1;
    const withValue = results.filter((r) => r.scores[id]?.status === 'ok');
    withValue.sort((a, b) => {
      const va = (a.scores[id] as { value: number }).value;
      const vb = (b.scores[id] as { value: number }).value;
      return va !== vb ? sign * (va - vb) : byName(a, b);
    });
    withValue.forEach((r, i) => {
      (r.scores[id] as { rank: number }).rank = i + 1;
    });
  }
}

function cellValue(r: ModelResult, id: ScorerId): number | null {
  const c = r.scores[id];
  return c && c.status === 'ok' ? c.value : null;
}

export function orderModels(results: ModelResult[], ids: readonly ScorerId[], sortBy?: ScorerId): Ranking {
  assignRanks(results, ids);
  const ran = ids.filter((id) => results.some((r) => r.scores[id]?.status === 'ok'));
  const key: ScorerId | undefined = sortBy ?? (ran.length <= 1 ? (ran[0] ?? ids[0]) : undefined);
  const method: RankingMethod = key !== undefined ? `score:${key}` : 'mean-rank';
  for (const r of results) {
    if (key !== undefined) {
      const c = r.scores[key];
      r.aggregate = c && c.status === 'ok' ? c.rank : null;
    } else {
      const ranks = ran.map((id) => r.scores[id]).filter((c): c is Extract<Cell, { status: 'ok' }> => c?.status === 'ok');
      r.aggregate = ranks.length > 0 ? ranks.reduce((s, c) => s + c.rank, 0) / ranks.length : null;
    }
  }
  const ordered = [...results].sort((a, b) => {
    if (a.aggregate === null || b.aggregate === null) {
      if (a.aggregate !== b.aggregate) return a.aggregate === null ? 1 : -1;
      return byName(a, b);
    }
    return a.aggregate !== b.aggregate ? a.aggregate - b.aggregate : byName(a, b);
  });
  const ranked = ordered.filter((r) => r.aggregate !== null);
  let margin: number | null = null;
  if (ranked.length >= 2) {
    if (key !== undefined) {
      const v0 = cellValue(ranked[0], key)!;
      const v1 = cellValue(ranked[1], key)!;
      margin = Math.abs(v0 - v1);
    } else {
      margin = ranked[1].aggregate! - ranked[0].aggregate!;
    }
  }
  return { method, order: ordered.map((r) => r.name), best: ranked[0]?.name ?? null, margin };
}

/** Scores every model with every requested scorer and orders them. Pure: no I/O. */
export function rank(models: readonly ModelEntry[], targets: Targets, options: RankOptions): RankOutput {
  const results: ModelResult[] = [];
  models.forEach((entry, index) => {
    options.onEvent?.({ type: 'model-start', name: entry.name, index, total: models.length });
    const t0 = now();
    const result = scoreModel(entry, targets, options.scorers, options.params ?? {});
    results.push(result);
    options.onEvent?.({ type: 'model-done', name: entry.name, index, total: models.length, ms: now() - t0, status: result.status });
  });
  const ranking = orderModels(results, options.scorers, options.sortBy);
  const order = new Map(ranking.order.map((name, i) => [name, i]));
  results.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  return { models: results, ranking };
}
