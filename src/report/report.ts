/**
 * The report every output format is rendered from. Its JSON form is the
 * versioned contract of specs/cli.md §5 (`schema_version: 1`): fields may be
 * added, never renamed or removed, without a new schema version.
 */
import type { Cell, ModelResult, RankOutput } from '../core/rank.js';
import { scorers, type ScorerId } from '../core/scorers/index.js';
import type { Targets } from '../core/types.js';

export const SCHEMA_VERSION = 1;

export type ScoreCell =
  | {
      value: number;
      rank: number;
      /** Another model has the same score (to 1e-10 relative) and shares this rank. */
      tie: boolean;
      time_ms: number;
      warnings: string[];
      details?: Record<string, unknown>;
      /** Why the value is at the scorer's uninformative edge (saturated, near chance), when it is. */
      uninformative?: string;
    }
  | { value: null; status: 'n/a' | 'error'; message: string };

export interface InputInfo {
  path: string;
  dtype?: string;
  shape?: number[];
  /** How source-head outputs were read: probabilities, logits (softmax applied), or percentages (divided by 100). */
  kind?: 'probs' | 'logits' | 'percent';
}

export interface ModelReport {
  name: string;
  status: 'ok' | 'error' | 'skipped';
  message?: string;
  /** 1-based position in the ranking (shared by tied models); null when the model was not ranked. */
  position: number | null;
  inputs: { features?: InputInfo; probs?: InputInfo };
  scores: Partial<Record<ScorerId, ScoreCell>>;
  aggregate: number | null;
  warnings: string[];
}

export interface Report {
  schema_version: typeof SCHEMA_VERSION;
  tool: { name: string; version: string };
  run: { started_at: string; duration_ms: number; argv: string[] };
  task: {
    type: Targets['type'];
    decided_by: 'auto' | 'user';
    /** Regression targets had their column means subtracted (`--center-targets`). */
    centred_targets: boolean;
    n_samples: number;
    n_classes: number | null;
    n_targets: number;
    label_map: (number | string)[] | null;
    labels: string;
  };
  scorers: { id: ScorerId; title: string; higher_is_better: boolean; params: Record<string, unknown> }[];
  models: ModelReport[];
  ranking: {
    method: RankOutput['ranking']['method'];
    order: string[];
    best: string | null;
    margin: number | null;
    /** Models tied for first place; empty when the first place is unique. */
    tie: string[];
    /** The scorers the aggregate is taken over. */
    aggregate_scorers: string[];
    notes: string[];
  };
  warnings: string[];
  errors: { model: string; scorer?: ScorerId; message: string }[];
}

function cellToJson(cell: Cell): ScoreCell {
  if (cell.status === 'ok') {
    const out: ScoreCell = { value: cell.value, rank: cell.rank, tie: cell.tie, time_ms: Math.round(cell.timeMs * 1000) / 1000, warnings: [...cell.warnings] };
    if (cell.details) out.details = { ...cell.details };
    if (cell.uninformative) out.uninformative = cell.uninformative;
    return out;
  }
  return { value: null, status: cell.status, message: cell.message };
}

export interface ReportContext {
  toolVersion: string;
  startedAt: Date;
  durationMs: number;
  argv: string[];
  targets: Targets;
  taskDecidedBy: 'auto' | 'user';
  centredTargets: boolean;
  labelsSource: string;
  scorerIds: readonly ScorerId[];
  inputs: Map<string, ModelReport['inputs']>;
  params: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  warnings: string[];
}

export function buildReport(out: RankOutput, ctx: ReportContext): Report {
  const t = ctx.targets;
  const models = out.models.map((m: ModelResult): ModelReport => {
    const scores: Partial<Record<ScorerId, ScoreCell>> = {};
    for (const id of ctx.scorerIds) {
      const c = m.scores[id];
      if (c) scores[id] = cellToJson(c);
    }
    const r: ModelReport = {
      name: m.name,
      status: m.status,
      position: out.ranking.positions[m.name] ?? null,
      inputs: ctx.inputs.get(m.name) ?? {},
      scores,
      aggregate: m.aggregate,
      warnings: m.warnings,
    };
    if (m.message !== undefined) r.message = m.message;
    return r;
  });
  const errors: Report['errors'] = [];
  for (const m of out.models) {
    for (const id of ctx.scorerIds) {
      const c = m.scores[id];
      if (c && c.status === 'error') errors.push({ model: m.name, scorer: id, message: c.message });
    }
  }
  return {
    schema_version: SCHEMA_VERSION,
    tool: { name: 'rank-models', version: ctx.toolVersion },
    run: { started_at: ctx.startedAt.toISOString(), duration_ms: Math.round(ctx.durationMs), argv: ctx.argv },
    task: {
      type: t.type,
      decided_by: ctx.taskDecidedBy,
      centred_targets: ctx.centredTargets,
      n_samples: t.type === 'classification' ? t.labels.length : t.n,
      n_classes: t.type === 'classification' ? t.numClasses : null,
      n_targets: t.type === 'classification' ? t.numClasses : t.k,
      label_map: t.type === 'classification' ? [...t.labelMap] : null,
      labels: ctx.labelsSource,
    },
    scorers: ctx.scorerIds.map((id) => ({
      id,
      title: scorers[id].title,
      higher_is_better: scorers[id].higherIsBetter,
      params: { ...(ctx.params[id] ?? {}) },
    })),
    models,
    ranking: {
      method: out.ranking.method,
      order: out.ranking.order,
      best: out.ranking.best,
      margin: out.ranking.margin,
      tie: out.ranking.tie,
      aggregate_scorers: out.ranking.aggregate_scorers,
      notes: out.ranking.notes,
    },
    warnings: ctx.warnings,
    errors,
  };
}

/** Exit status 1 when some (model, scorer) cell failed (specs/cli.md §6). */
export function hasFailures(r: Report): boolean {
  return r.errors.length > 0 || r.models.some((m) => m.status === 'error');
}

/** Cell text shared by the table, CSV and Markdown reporters. */
export function formatScore(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
  return v.toFixed(4);
}

/** Features dimension D of a model, when known. */
export function featureDim(m: ModelReport): number | null {
  const shape = m.inputs.features?.shape;
  return shape && shape.length === 2 ? shape[1] : null;
}

/** Position text: `3`, `=1` when shared with another model, `-` when not ranked. */
export function positionText(r: Report, m: ModelReport): string {
  if (m.position === null) return '-';
  const shared = r.models.some((o) => o !== m && o.position === m.position);
  return shared ? `=${m.position}` : String(m.position);
}

/** A cell's rank in parentheses: `(2)`, or `(=1)` for a tie. */
export function rankText(cell: { rank: number; tie: boolean }): string {
  return `(${cell.tie ? '=' : ''}${cell.rank})`;
}

/**
 * How each model's source-head outputs were read, for the human outputs
 * (`logits (softmax applied): a, b; probabilities: c`); null without any.
 */
export function probsSummary(r: Report): string | null {
  const groups: Record<string, string[]> = {};
  for (const m of r.models) {
    const kind = m.inputs.probs?.kind;
    if (kind) (groups[kind] ??= []).push(m.name);
  }
  const label: Record<string, string> = {
    logits: 'logits (softmax applied)',
    probs: 'probabilities',
    percent: 'percentages (divided by 100)',
  };
  const parts = Object.entries(groups).map(([kind, names]) => `${label[kind]}: ${names.join(', ')}`);
  return parts.length > 0 ? `source-head outputs read as ${parts.join('; ')}` : null;
}

/** One line on how the models were ordered, and why, for the table and Markdown footers. */
export function orderingText(r: Report, title: (id: string) => string): string {
  if (r.ranking.method !== 'mean-rank') return `ordered by ${title(r.ranking.method.slice('score:'.length))} score`;
  return `ordered by the mean of per-scorer ranks over ${r.ranking.aggregate_scorers.map(title).join(', ')}`;
}

/** The best-model line: unique best with its lead, or the tie for first. */
export function bestText(r: Report, show: (name: string) => string): string | null {
  if (r.ranking.best === null) return null;
  if (r.ranking.tie.length > 0) return `tie for first: ${r.ranking.tie.map(show).join(', ')} (equal ${r.ranking.method === 'mean-rank' ? 'mean rank' : 'score'}; no single best model)`;
  const m = r.ranking.margin;
  const lead = m === null ? '' : r.ranking.method === 'mean-rank' ? ` (leads the next model by ${m.toFixed(2)} in mean rank)` : ` (leads the next model by ${formatScore(m)})`;
  return `best: ${show(r.ranking.best)}${lead}`;
}

/** Header of the aggregate column. */
export function aggregateLabel(r: Report): string {
  return r.ranking.method === 'mean-rank' ? 'mean rank' : `rank by ${r.ranking.method.slice('score:'.length)}`;
}
