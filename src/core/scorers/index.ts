/**
 * The scorer registry: one object literal, one id everywhere (file name, CLI
 * value, JSON key). Adding a scorer means one file, one line here.
 */
import type { TaskType } from '../types.js';
import { disco } from './disco.js';
import { leep } from './leep.js';
import { logme } from './logme.js';
import { nce } from './nce.js';
import type { Scorer, ScorerInput } from './scorer.js';

export const scorers = {
  logme,
  leep,
  nce,
  disco,
} as const satisfies Record<string, Scorer>;

export type ScorerId = keyof typeof scorers;

export const scorerIds = Object.keys(scorers) as ScorerId[];

/** The core scorers run when the user names none (README, "Scorers"). */
export const coreScorerIds: readonly ScorerId[] = ['logme', 'leep', 'nce', 'disco'];

export function isScorerId(id: string): id is ScorerId {
  return Object.prototype.hasOwnProperty.call(scorers, id);
}

/**
 * Default selection: every core scorer that supports the task and whose
 * inputs at least one model provides. A scorer no model can feed would only
 * add a column of `n/a`.
 */
export function defaultScorers(task: TaskType, available: readonly ReadonlySet<ScorerInput>[]): ScorerId[] {
  return applicableScorers(coreScorerIds, task, available);
}

/** The scorers among `ids` that support the task and whose inputs at least one model provides. */
export function applicableScorers(ids: readonly ScorerId[], task: TaskType, available: readonly ReadonlySet<ScorerInput>[]): ScorerId[] {
  return ids.filter((id) => {
    const s = scorers[id];
    return s.tasks.includes(task) && available.some((have) => s.inputs.every((input) => have.has(input)));
  });
}

/**
 * Expands `all` in a user's selection to every registered scorer that
 * applies (in registry order, without repeating ids named beside it).
 */
export function expandSelection(selection: readonly string[], task: TaskType, available: readonly ReadonlySet<ScorerInput>[]): ScorerId[] {
  const out: ScorerId[] = [];
  for (const id of selection) {
    const ids = id === 'all' ? applicableScorers(scorerIds, task, available) : [id as ScorerId];
    for (const x of ids) if (!out.includes(x)) out.push(x);
  }
  return out;
}

export type { Scorer, ScoreResult, ScorerInput } from './scorer.js';
