/**
 * The scorer registry: one object literal, one id everywhere (file name, CLI
 * value, JSON key). Adding a scorer means one file, one line here.
 */
import { logme } from './logme.js';
import type { Scorer } from './scorer.js';

export const scorers = {
  logme,
} as const satisfies Record<string, Scorer>;

export type ScorerId = keyof typeof scorers;

export const scorerIds = Object.keys(scorers) as ScorerId[];

/** Scorers run when the user names none: every core scorer whose inputs are present. */
export const defaultScorerIds: readonly ScorerId[] = ['logme'];

export function isScorerId(id: string): id is ScorerId {
  return Object.prototype.hasOwnProperty.call(scorers, id);
}

export type { Scorer, ScoreResult, ScorerInput } from './scorer.js';
