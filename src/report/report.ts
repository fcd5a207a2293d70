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
      time_ms: number;
      warnings: string[];
      details?: Record<string, unknown>;
    }
  | { value: null; status: 'n/a' | 'error'; message: string };

export interface InputInfo {
  path: string;
  dtype?: string;
  shape?: number[];
  kind?: 'probs' | 'logits';
}

export interface ModelReport {
  name: string;
  status: 'ok' | 'error' | 'skipped';
  message?: string;
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
    n_samples: number;
    n_classes: number | null;
    n_targets: number;
    label_map: (number | string)[] | null;
    labels: string;
  };
  scorers: { id: ScorerId; title: string; higher_is_better: boolean; params: Record<string, unknown> }[];
  models: ModelReport[];
  ranking: RankOutput['ranking'];
  warnings: string[];
  errors: { model: string; scorer?: ScorerId; message: string }[];
}

function cellToJson(cell: Cell): ScoreCell {
  if (cell.status === 'ok') {
    const out: ScoreCell = { value: cell.value, rank: cell.rank, time_ms: Math.round(cell.timeMs * 1000) / 1000, warnings: [...cell.warnings] };
    if (cell.details) out.details = { ...cell.details };
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
    ranking: out.ranking,
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

/** Header of the aggregate column. */
export function aggregateLabel(r: Report): string {
  return r.ranking.method === 'mean-rank' ? 'mean rank' : `rank by ${r.ranking.method.slice('score:'.length)}`;
}
