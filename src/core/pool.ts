/**
 * The pool stage: everything that is defined over the whole set of scored
 * models rather than one model — per-scorer ranks with ties, the aggregate
 * that orders the models, the tie for first place and the margin. A normal
 * run and (later) a merge of shards share it: it reads only the cells.
 *
 * Rules (README "Ranking, ties and the aggregate"):
 * - Per scorer, models are ranked by value (direction from the scorer);
 *   values equal to TIE_RTOL share a rank ("competition" ranking: 1, 1, 3).
 * - One scorer (or `--sort-by`): the models are ordered by its rank.
 * - Several scorers: by the mean of per-scorer ranks over the scorers that
 *   produced a value for *every* model being ranked, so that a model with
 *   fewer scorers (no source head) is never compared on a different basis
 *   than the others. Scorers left out are named in `ranking.notes`.
 * - Equal aggregates are a tie; the order among tied models is by name only
 *   so that output is stable, and the tie is reported, never hidden.
 */
import type { Cell, ModelResult } from './rank.js';

/** Scores that agree to this relative tolerance (about 10 significant digits) are a tie. */
export const TIE_RTOL = 1e-10;

export type RankingMethod = 'mean-rank' | `score:${string}`;

export interface Ranking {
  readonly method: RankingMethod;
  /** Every model, ranked ones first in order; unranked ones (no value on the ordering key) last, by name. */
  readonly order: string[];
  /** The first model of `order` that was ranked, or null when none was. */
  readonly best: string | null;
  /**
   * Lead of the first model over the next one on the ordering key (the score
   * difference for `score:ID`, the mean-rank difference for `mean-rank`); 0
   * when several models tie for first.
   */
  readonly margin: number | null;
  /** Models tied for first place (empty when the first place is unique). */
  readonly tie: string[];
  /** 1-based position of each ranked model in the final order; tied models share a position. */
  readonly positions: Record<string, number>;
  /** Scorers whose ranks the aggregate averages (`mean-rank`), or the one ordering scorer. */
  readonly aggregate_scorers: string[];
  /** What the reader must know about how the order was formed (scorers left out, incomparable models). */
  readonly notes: string[];
}

export interface PoolOptions {
  /** Selected scorer ids, in column order. */
  readonly ids: readonly string[];
  readonly higherIsBetter: (id: string) => boolean;
  readonly title?: (id: string) => string;
  readonly sortBy?: string;
}

type OkCell = Extract<Cell, { status: 'ok' }>;

function okCell(r: ModelResult, id: string): OkCell | undefined {
  const c = (r.scores as Record<string, Cell | undefined>)[id];
  return c && c.status === 'ok' ? c : undefined;
}

export function sameScore(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= TIE_RTOL * Math.max(Math.abs(a), Math.abs(b));
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Groups items already sorted best-first into runs of equal keys and calls
 * `assign(item, rank, tied)` with the competition rank (1 + number of items
 * strictly better).
 */
function competitionRanks<T>(sorted: readonly T[], equal: (a: T, b: T) => boolean, assign: (item: T, rank: number, tied: boolean) => void): void {
  let start = 0;
  while (start < sorted.length) {
    let end = start + 1;
    while (end < sorted.length && equal(sorted[start], sorted[end])) end++;
    for (let i = start; i < end; i++) assign(sorted[i], start + 1, end - start > 1);
    start = end;
  }
}

/** Assigns every ok cell its 1-based rank among the models with a value for that scorer; ties share a rank. */
export function assignRanks(results: readonly ModelResult[], opts: PoolOptions): void {
  for (const id of opts.ids) {
    const sign = opts.higherIsBetter(id) ? -1 : 1;
    const withValue = results.filter((r) => okCell(r, id) !== undefined);
    withValue.sort((a, b) => {
      const va = okCell(a, id)!.value;
      const vb = okCell(b, id)!.value;
      return sameScore(va, vb) ? byName(a, b) : sign * (va - vb);
    });
    competitionRanks(
      withValue,
      (a, b) => sameScore(okCell(a, id)!.value, okCell(b, id)!.value),
      (r, rank, tied) => {
        const c = okCell(r, id)!;
        c.rank = rank;
        c.tie = tied;
      },
    );
  }
}

/** Orders the models (see the module comment); mutates `aggregate` and the cells' ranks. */
export function orderModels(results: ModelResult[], opts: PoolOptions): Ranking {
  assignRanks(results, opts);
  const title = opts.title ?? ((id: string) => id);
  const notes: string[] = [];
  const candidates = results.filter((r) => opts.ids.some((id) => okCell(r, id) !== undefined));
  const ran = opts.ids.filter((id) => candidates.some((r) => okCell(r, id) !== undefined));
  const key: string | undefined = opts.sortBy ?? (ran.length <= 1 ? (ran[0] ?? opts.ids[0]) : undefined);
  let aggregateScorers: string[];

  if (key === undefined) {
    const common = ran.filter((id) => candidates.every((r) => okCell(r, id) !== undefined));
    if (common.length === 0) {
      // No scorer covers every model: models are compared on different scorers.
      aggregateScorers = ran;
      notes.push(
        `no scorer produced a value for every model, so the mean ranks compare models on different scorers and are not comparable: ` +
          candidates.map((r) => `${r.name} (${ran.filter((id) => okCell(r, id)).join(', ')})`).join('; '),
      );
    } else {
      aggregateScorers = common;
      // One note per set of models a group of scorers lacks ("LEEP and NCE are left out …").
      const byMissing = new Map<string, string[]>();
      for (const id of ran.filter((s) => !common.includes(s))) {
        const missing = candidates.filter((r) => okCell(r, id) === undefined).map((r) => r.name).join(', ');
        byMissing.set(missing, [...(byMissing.get(missing) ?? []), title(id)]);
      }
      for (const [missing, titles] of byMissing) {
        const list = titles.length === 1 ? `${titles[0]} is` : `${titles.slice(0, -1).join(', ')} and ${titles.at(-1)} are`;
        notes.push(`${list} left out of the mean rank: no value for ${missing}`);
      }
    }
  } else {
    aggregateScorers = [key];
  }
  const method: RankingMethod = key !== undefined ? `score:${key}` : 'mean-rank';

  for (const r of results) {
    if (method !== 'mean-rank') {
      r.aggregate = okCell(r, key!)?.rank ?? null;
    } else {
      const ranks = aggregateScorers.map((id) => okCell(r, id)).filter((c): c is OkCell => c !== undefined);
      r.aggregate = ranks.length > 0 ? ranks.reduce((s, c) => s + c.rank, 0) / ranks.length : null;
    }
  }
  const ranked = results.filter((r) => r.aggregate !== null).sort((a, b) => a.aggregate! - b.aggregate! || byName(a, b));
  const unranked = results.filter((r) => r.aggregate === null).sort(byName);
  const positions: Record<string, number> = {};
  const sameAggregate = (a: ModelResult, b: ModelResult): boolean => Math.abs(a.aggregate! - b.aggregate!) <= 1e-12;
  competitionRanks(ranked, sameAggregate, (r, position) => {
    positions[r.name] = position;
  });
  const tie = ranked.length >= 2 && positions[ranked[1].name] === 1 ? ranked.filter((r) => positions[r.name] === 1).map((r) => r.name) : [];

  let margin: number | null = null;
  if (ranked.length >= 2) {
    if (tie.length > 0) margin = 0;
    else if (method !== 'mean-rank') margin = Math.abs(okCell(ranked[0], key!)!.value - okCell(ranked[1], key!)!.value);
    else margin = ranked[1].aggregate! - ranked[0].aggregate!;
  }
  for (const id of ran) {
    const cells = candidates.map((r) => okCell(r, id)).filter((c): c is OkCell => c !== undefined);
    if (cells.length >= 2 && cells.every((c) => c.uninformative !== undefined)) {
      notes.push(`${title(id)} is at its uninformative value for every model, so its order among them is noise (${cells[0].uninformative})`);
    }
  }
  return {
    method,
    order: [...ranked, ...unranked].map((r) => r.name),
    best: ranked[0]?.name ?? null,
    margin,
    tie,
    positions,
    aggregate_scorers: aggregateScorers,
    notes,
  };
}
