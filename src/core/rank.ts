/**
 * Runs the selected scorers on every model, shares per-model work through one
 * ModelContext per model, and orders the models. One failing model or cell
 * never stops the others (docs/users.md #8).
 */
import { ModelContext, type ModelInputs, type ScorerParams } from './context.js';
import { RankModelsError } from './errors.js';
import { scorers, type ScorerId, type ScorerInput } from './scorers/index.js';
import type { Targets } from './types.js';
import { orderModels, type PoolOptions, type Ranking } from './pool.js';
import { checkFeatures, checkProbs, checkRowCount, targetCount } from './validate.js';

export type Cell =
  | {
      readonly status: 'ok';
      readonly value: number;
      /** 1-based rank among the models with a value for this scorer (set by the pool stage). */
      rank: number;
      /** True when another model has the same score (to TIE_RTOL) and so the same rank. */
      tie: boolean;
      readonly timeMs: number;
      readonly warnings: readonly string[];
      readonly details?: Readonly<Record<string, unknown>>;
      readonly uninformative?: string;
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
  /** What loading found doubtful (e.g. percentages read as probabilities). */
  readonly warnings?: readonly string[];
}

export interface ModelResult {
  readonly name: string;
  readonly status: 'ok' | 'error' | 'skipped';
  readonly message?: string;
  readonly warnings: string[];
  readonly scores: Partial<Record<ScorerId, Cell>>;
  /** Mean of per-scorer ranks (mean-rank method), or the sort scorer's rank. */
  aggregate: number | null;
  /** Row count of an input that disagreed with the labels (for the run-level "wrong labels file?" check). */
  readonly rowsFound?: number;
}


export type { Ranking } from './pool.js';

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
  const warnings: string[] = [...(entry.warnings ?? [])];
  const n = targetCount(targets);
  const inputErrors: Partial<Record<ScorerInput, string>> = { ...entry.inputErrors };
  const { features, featureRows, probs } = entry.inputs;
  const ctx = new ModelContext(entry.inputs, targets, params);
  const needsFeatures = ids.some((id) => (scorers[id].inputs as readonly ScorerInput[]).includes('features') && scorers[id].tasks.includes(targets.type));
  let rowsFound: number | undefined;
  if ((features || featureRows) && !inputErrors.features && needsFeatures) {
    const source = entry.sources.features ?? entry.name;
    if ((features ?? featureRows)!.rows !== n) rowsFound = (features ?? featureRows)!.rows;
    try {
      checkRowCount((features ?? featureRows)!.rows, n, 'features', source);
      warnings.push(...checkFeatures(ctx.featureSummary(), source));
    } catch (err) {
      inputErrors.features = message(err);
    }
  }
  if (probs && !inputErrors.probs) {
    if (probs.rows !== n) rowsFound ??= probs.rows;
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
        scores[id] = { status: 'ok', value: r.value, rank: 0, tie: false, timeMs: now() - t0, warnings: r.warnings, details: r.details };
        if (r.uninformative) scores[id] = { ...scores[id], uninformative: r.uninformative } as Cell;
      }
    } catch (err) {
      scores[id] = { status: 'error', value: null, message: message(err) };
    }
  }
  ctx.dispose();
  const cells = Object.values(scores) as Cell[];
  const anyOk = cells.some((c) => c.status === 'ok');
  const allNa = cells.length > 0 && cells.every((c) => c.status === 'n/a');
  const firstError = cells.find((c) => c.status === 'error');
  const status = anyOk ? 'ok' : allNa ? 'skipped' : 'error';
  const msg = status === 'ok' ? undefined : firstError && firstError.status === 'error' ? firstError.message : 'no scorer applies to this model';
  return { name: entry.name, status, message: msg, warnings, scores, aggregate: null, ...(rowsFound !== undefined ? { rowsFound } : {}) };
}

/** Pool options for the built-in registry. */
export function poolOptions(ids: readonly ScorerId[], sortBy?: ScorerId): PoolOptions {
  return { ids, sortBy, higherIsBetter: (id) => scorers[id as ScorerId].higherIsBetter, title: (id) => scorers[id as ScorerId].title };
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
  const ranking = orderModels(results, poolOptions(options.scorers, options.sortBy));
  const order = new Map(ranking.order.map((name, i) => [name, i]));
  results.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  return { models: results, ranking };
}
