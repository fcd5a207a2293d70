import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import {
  averageRanks,
  decreasingLexRank,
  evaluateScores,
  kendallTauB,
  pearsonR,
  spearmanRho,
  weightedTau,
  weightedTauRanked,
  type Evaluation,
} from '../../src/core/evaluate.js';
import { FIXTURES } from '../helpers/cli.js';
import { mulberry32, randn } from '../helpers/random.js';

interface EvaluationCase extends Evaluation {
  readonly notes: string;
  readonly score: number[];
  readonly truth: number[];
}

const cases = JSON.parse(readFileSync(path.join(FIXTURES, 'evaluation', 'expected.json'), 'utf8')) as Record<string, EvaluationCase>;

const CORRELATIONS = ['weighted_tau', 'weighted_tau_truth_rank', 'kendall_tau_b', 'spearman', 'pearson'] as const;
const TOL = 1e-12;

function expectWithin(actual: number | null, expected: number | null, tol: number, label: string): void {
  if (expected === null || actual === null) {
    expect(actual, label).toBe(expected);
    return;
  }
  const diff = Math.abs(actual - expected);
  if (!(diff <= tol)) expect.fail(`${label}: ${actual} vs ${expected} (diff ${diff.toExponential(3)})`);
}

describe('evaluation against scipy (fixtures/evaluation/expected.json)', () => {
  it('covers the required cases', () => {
    const names = Object.keys(cases);
    for (const n of ['no_ties_n10', 'ties_in_score_n10', 'ties_in_truth_n10', 'ties_in_both_n10', 'n3', 'n4', 'n50', 'n200', 'all_equal_truth_n10', 'negative_values_n10', 'reversed_n10']) {
      expect(names).toContain(n);
    }
  });

  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: ${c.notes}`, () => {
      const r = evaluateScores(c.score, Float64Array.from(c.truth));
      expect(r.n).toBe(c.n);
      for (const key of CORRELATIONS) expectWithin(r[key], c[key], TOL, `${name} ${key}`);
      expect(r.top1_hit).toBe(c.top1_hit);
      expectWithin(r.regret, c.regret, TOL, `${name} regret`);
      expectWithin(r.rel_at_3, c.rel_at_3, TOL, `${name} rel_at_3`);
    });
  }

  it('writes null, never NaN, for the undefined correlations', () => {
    const r = evaluateScores(cases.all_equal_truth_n10.score, cases.all_equal_truth_n10.truth);
    for (const key of CORRELATIONS) expect(r[key]).toBeNull();
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
});

describe('tie rules of the top-pick measures', () => {
  it('a tie for the top score is a hit only when every tied model reaches the best truth', () => {
    expect(evaluateScores([2, 2, 1, 0], [0.9, 0.9, 0.5, 0.1]).top1_hit).toBe(true);
    const mixed = evaluateScores([2, 2, 1, 0], [0.9, 0.7, 0.8, 0.1]);
    expect(mixed.top1_hit).toBe(false);
    expect(mixed.regret).toBeCloseTo(0.2, 15); // the worse of the two tied models
  });

  it('any model reaching the best truth counts: ties in the truth need no rule', () => {
    const r = evaluateScores([3, 2, 1, 0], [0.8, 0.8, 0.8, 0.1]);
    expect(r.top1_hit).toBe(true);
    expect(r.regret).toBe(0);
  });

  it('at a tie across the top-3 cut, the tied models with the lowest truths fill the places', () => {
    // top 2 are clear; one place left for three models tied at score 1
    const r = evaluateScores([3, 2, 1, 1, 1, 0], [0.2, 0.3, 0.9, 0.5, 0.4, 0.1]);
    expect(r.rel_at_3).toBeCloseTo(0.4 / 0.9, 15);
    // two places left: the two lowest of the tie
    expect(evaluateScores([3, 1, 1, 1, 0], [0.2, 0.9, 0.5, 0.4, 0.1]).rel_at_3).toBeCloseTo(0.5 / 0.9, 15);
  });

  it('rel_at_3 is null when the best truth is ≤ 0, and may be negative otherwise', () => {
    expect(evaluateScores([1, 2, 3], [-0.5, -0.2, -0.9]).rel_at_3).toBeNull();
    expect(evaluateScores([1, 2, 3], [0, 0, 0]).rel_at_3).toBeNull();
    expect(evaluateScores([1, 2, 3, 4], [2, -1, -2, -3]).rel_at_3).toBe(-0.5);
  });

  it('n = 2 looks at both models for rel_at_3', () => {
    expect(evaluateScores([1, 2], [0.9, 0.3]).rel_at_3).toBe(1);
  });
});

describe('invalid input', () => {
  it('n < 2 throws InputError', () => {
    for (const n of [0, 1]) {
      const f = () => evaluateScores(new Float64Array(n), new Float64Array(n));
      expect(f).toThrow(InputError);
      expect(f).toThrow(/at least 2 models/);
    }
  });

  it('different lengths and non-finite values throw InputError', () => {
    expect(() => evaluateScores([1, 2, 3], [1, 2])).toThrow(/3 scores and 2 truths/);
    expect(() => evaluateScores([1, NaN, 3], [1, 2, 3])).toThrow(/score must be finite; found NaN at position 1/);
    expect(() => evaluateScores([1, 2, 3], [1, 2, Infinity])).toThrow(InputError);
  });

  it('the error carries the input code', () => {
    try {
      evaluateScores([1], [1]);
      expect.unreachable();
    } catch (e) {
      expect((e as InputError).code).toBe('input');
    }
  });
});

/** Random vectors: continuous, or rounded to a few values to force ties. */
function vector(n: number, seed: number, ties: boolean): Float64Array {
  const v = randn(n, seed);
  return ties ? v.map((x) => Math.round(2 * x)) : v;
}

const SHAPES = [
  { n: 3, ties: false },
  { n: 12, ties: false },
  { n: 12, ties: true },
  { n: 60, ties: false },
  { n: 60, ties: true },
];

describe('properties (no scipy needed)', () => {
  it('every correlation of a vector with itself is 1', () => {
    for (const [k, { n, ties }] of SHAPES.entries()) {
      const x = vector(n, 100 + k, ties);
      const r = evaluateScores(x, x);
      for (const key of CORRELATIONS) expectWithin(r[key], 1, TOL, `n=${n} ties=${ties} ${key}`);
      expect(r.top1_hit).toBe(true);
      expect(r.regret).toBe(0);
    }
  });

  it('reversing the truth negates Kendall, Spearman and Pearson', () => {
    for (const [k, { n, ties }] of SHAPES.entries()) {
      const s = vector(n, 200 + k, ties);
      const t = vector(n, 300 + k, ties);
      const minus = t.map((v) => -v);
      for (const f of [kendallTauB, spearmanRho, pearsonR]) {
        expectWithin(f(s, minus), -f(s, t)!, TOL, `${f.name} n=${n} ties=${ties}`);
      }
    }
  });

  it('the weighted τ of a reversed ranking is −1 (it is not odd in general: the rank moves)', () => {
    const s = vector(30, 7, false);
    expectWithin(weightedTau(s, s.map((v) => -v)), -1, TOL, 'weighted τ');
  });

  it('τ-b, Spearman and the weighted τ do not change under strictly increasing transforms', () => {
    const transforms: ((v: number) => number)[] = [(v) => Math.exp(v), (v) => v * v * v, (v) => 3 * v - 7];
    for (const [k, { n, ties }] of SHAPES.entries()) {
      const s = vector(n, 400 + k, ties);
      const t = vector(n, 500 + k, ties);
      const base = evaluateScores(s, t);
      for (const g of transforms) {
        const r = evaluateScores(s.map(g), t.map(g));
        // only the order of the values enters, so the results are bit-identical
        expect(r.kendall_tau_b).toBe(base.kendall_tau_b);
        expect(r.spearman).toBe(base.spearman);
        expect(r.weighted_tau).toBe(base.weighted_tau);
        expect(r.weighted_tau_truth_rank).toBe(base.weighted_tau_truth_rank);
      }
    }
  });

  it('Pearson does not change under positive affine transforms', () => {
    const s = vector(40, 11, false);
    const t = vector(40, 12, false);
    expectWithin(pearsonR(s.map((v) => 2.5 * v + 100), t.map((v) => 0.01 * v - 3)), pearsonR(s, t), TOL, 'pearson');
  });

  it('τ-b, Spearman, Pearson and the weighted τ are symmetric in score and truth', () => {
    const s = vector(25, 21, true);
    const t = vector(25, 22, true);
    const a = evaluateScores(s, t);
    const b = evaluateScores(t, s);
    for (const key of ['weighted_tau', 'kendall_tau_b', 'spearman', 'pearson'] as const) expectWithin(b[key], a[key], TOL, key);
    // the Model-Spider variant ranks by the truth, so swapping gives the other half of the default
    expectWithin((a.weighted_tau_truth_rank! + b.weighted_tau_truth_rank!) / 2, a.weighted_tau, TOL, 'halves');
  });

  it('regret is 0 and the pick a hit when the top-scored model has the best truth', () => {
    const rand = mulberry32(9);
    for (let trial = 0; trial < 20; trial++) {
      const s = vector(15, 600 + trial, trial % 2 === 0);
      const t = Float64Array.from(s, () => rand());
      const top = s.indexOf(Math.max(...s));
      // make every model tied for the top score the best: the pessimistic tie rule must still give a hit
      s.forEach((v, i) => {
        if (v === s[top]) t[i] = 2;
      });
      const r = evaluateScores(s, t);
      expect(r.regret).toBe(0);
      expect(r.top1_hit).toBe(true);
      expect(r.rel_at_3).toBe(1);
    }
  });

  it('regret is never negative and top1_hit is exactly regret === 0', () => {
    for (let seed = 0; seed < 30; seed++) {
      const r = evaluateScores(vector(8, 700 + seed, true), vector(8, 800 + seed, true));
      expect(r.regret).toBeGreaterThanOrEqual(0);
      expect(r.top1_hit).toBe(r.regret === 0);
    }
  });

  it('τ-b is the weighted τ with constant weights, i.e. any rank whose weights are all equal', () => {
    // a constant weigher turns τ_w into τ-b (Vigna 2015); rank ≡ 0 gives every element weight 1
    const s = vector(20, 31, true);
    const t = vector(20, 32, true);
    expectWithin(weightedTauRanked(s, t, new Int32Array(20)), kendallTauB(s, t), TOL, 'τ-b');
  });

  it('the decreasing lexicographic rank: larger primary first, then larger secondary, then the later index', () => {
    expect(Array.from(decreasingLexRank([1, 3, 3, 2, 3], [0, 1, 2, 0, 1]))).toEqual([4, 2, 0, 3, 1]);
  });

  it('average ranks give ties the mean of their positions', () => {
    expect(Array.from(averageRanks([10, 20, 10, 30, 20, 10]))).toEqual([2, 4.5, 2, 6, 4.5, 2]);
  });

  it('n = 2 gives exactly ±1 everywhere, as scipy does', () => {
    const up = evaluateScores([0.1, 0.30000000000000004], [1e-300, 2e-300]);
    const down = evaluateScores([1, 2], [5, -5]);
    for (const key of CORRELATIONS) {
      expect(up[key]).toBe(1);
      expect(down[key]).toBe(-1);
    }
  });
});
