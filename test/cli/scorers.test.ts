import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { scorerCases } from '../helpers/fixtures.js';
import { expectClose } from '../helpers/tolerance.js';

const DEMO = path.join(FIXTURES, 'demo');
const MANIFEST = path.join(DEMO, 'models.yaml');
const SC = path.join(FIXTURES, 'scorers');

interface JsonModel {
  name: string;
  status: string;
  inputs: { probs?: { kind: string } };
  scores: Record<string, { value: number | null; status?: string; message?: string; rank?: number }>;
  aggregate: number | null;
}

describe('several scorers in one run', () => {
  it('the demo shows LogME, LEEP and NCE side by side; a model without probabilities gets n/a, not a failure', async () => {
    const r = await runCli([MANIFEST]);
    expect(r.code).toBe(0);
    const header = r.stdout.split('\n')[0];
    expect(header).toMatch(/LogME.*LEEP.*NCE.*DISCO.*mean rank.*status/);
    expect(r.stdout).toMatch(/efficientnet_b0 .*n\/a\[1\].*n\/a\[2\]/);
    expect(r.stdout).toContain('[1] efficientnet_b0 · leep: no source-head probabilities given for this model');
    // The randomly initialised network's DISCO posteriors sit at the class prior: the one warning of the demo.
    const warnings = r.stderr.trim().split('\n');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: random_init · disco: DISCO: every group's class posteriors are close to the class prior/);
    // LEEP and NCE have no value for efficientnet_b0, so the mean rank compares every model on LogME and DISCO only.
    expect(r.stdout).toContain('ordered by the mean of per-scorer ranks over LogME, DISCO');
    expect(r.stdout).toContain('note: LEEP and NCE are left out of the mean rank: no value for efficientnet_b0');
  });

  it('JSON: per-scorer ranks, mean-rank aggregate, n/a cells with a reason, and the probs kind used', async () => {
    const r = await runCli([MANIFEST, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.scorers.map((s: { id: string }) => s.id)).toEqual(['logme', 'leep', 'nce', 'disco']);
    expect(j.ranking.method).toBe('mean-rank');
    const models = j.models as JsonModel[];
    const eff = models.find((m) => m.name === 'efficientnet_b0')!;
    expect(eff.status).toBe('ok');
    expect(eff.scores.leep).toEqual({ value: null, status: 'n/a', message: 'no source-head probabilities given for this model' });
    const vit = models.find((m) => m.name === 'vit_b16')!;
    expect(vit.inputs.probs!.kind).toBe('logits');
    const ranks = ['logme', 'leep', 'nce', 'disco'].map((id) => vit.scores[id].rank!);
    expect(vit.aggregate).toBeCloseTo(ranks.reduce((a, b) => a + b) / 4, 12);
    // Mean ranks are non-decreasing down the order.
    const agg = j.ranking.order.map((n: string) => models.find((m) => m.name === n)!.aggregate);
    for (let i = 1; i < agg.length; i++) expect(agg[i]).toBeGreaterThanOrEqual(agg[i - 1]);
    expect(j.errors).toEqual([]);
  });

  it('--sort-by orders by one scorer; models without that score go last', async () => {
    const j = JSON.parse((await runCli([MANIFEST, '--json', '--sort-by', 'leep'])).stdout);
    expect(j.ranking.method).toBe('score:leep');
    expect(j.ranking.order.at(-1)).toBe('efficientnet_b0');
  });

  it('--sort-by must name a selected scorer', async () => {
    const r = await runCli([MANIFEST, '-s', 'logme', '--sort-by', 'nce']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sort-by nce: that scorer is not selected/);
  });

  it('a probabilities-only model via --probs NAME=PATH matches the reference', async () => {
    const c = scorerCases().leep_nce_src50_float64;
    const r = await runCli(['--probs', `src=${path.join(SC, c.files.probs!)}`, '--labels', path.join(SC, c.files.labels), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.scorers.map((s: { id: string }) => s.id)).toEqual(['leep', 'nce']);
    const m = j.models[0] as JsonModel;
    expect(m.inputs.probs!.kind).toBe('probs');
    expectClose(m.scores.leep.value!, c.leep!, 1e-6, 1e-9);
    expectClose(m.scores.nce.value!, c.nce!, 1e-6, 1e-9);
  });

  it('logits are detected; --probs-kind probs on logits fails those cells only (exit 1), LogME still ranks', async () => {
    const c = scorerCases().leep_nce_src50_logits;
    const feats = path.join(SC, 'leep_nce_src50_float64', 'features.npy');
    const logits = path.join(SC, c.files.logits!);
    const y = path.join(SC, c.files.labels);
    const auto = JSON.parse((await runCli([`m=${feats}`, '--probs', `m=${logits}`, '--labels', y, '--json'])).stdout);
    expect(auto.models[0].inputs.probs.kind).toBe('logits');
    expectClose(auto.models[0].scores.leep.value, c.leep!, 1e-6, 1e-9);
    const forced = await runCli([`m=${feats}`, '--probs', `m=${logits}`, '--labels', y, '--probs-kind', 'probs', '--json']);
    expect(forced.code).toBe(1);
    const j = JSON.parse(forced.stdout);
    expect(j.models[0].scores.logme.value).toEqual(expect.any(Number));
    expect(j.models[0].scores.leep.status).toBe('error');
    expect(j.models[0].scores.leep.message).toContain(logits);
    expect(forced.stderr).toMatch(/--probs-kind probs: expected rows of non-negative values/);
  });

  it('LEEP and NCE are n/a for a regression task', async () => {
    const c = scorerCases().regression_1_target;
    const r = await runCli([`m=${path.join(SC, c.files.features!)}`, '--labels', path.join(SC, c.files.labels), '-s', 'logme,leep', '--json']);
    const j = JSON.parse(r.stdout);
    expect(r.code).toBe(0);
    expect(j.task.type).toBe('regression');
    expect(j.models[0].scores.leep).toMatchObject({ value: null, status: 'n/a', message: 'LEEP does not support regression tasks' });
  });

  it('probabilities with the wrong number of rows are an input error for that model', async () => {
    const p = path.join(SC, 'leep_nce_src50_float64', 'probs.npy');
    const r = await runCli([path.join(DEMO, 'vit_b16.npy'), '--probs', `vit_b16=${p}`, '--labels', path.join(DEMO, 'labels.npy'), '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/source-head outputs: expected 500 rows \(one per label\), found 300/);
  });
});

describe('rank-models scorers', () => {
  it('lists every scorer as text', async () => {
    const r = await runCli(['scorers']);
    expect(r.code).toBe(0);
    for (const id of ['logme', 'leep', 'nce']) expect(r.stdout).toMatch(new RegExp(`^${id} `, 'm'));
    expect(r.stdout).toContain('arXiv:2002.12462');
  });
  it('--format json gives id, title, inputs, tasks, direction and citation', async () => {
    const r = await runCli(['scorers', '--format', 'json']);
    const list = JSON.parse(r.stdout);
    const leep = list.find((s: { id: string }) => s.id === 'leep');
    expect(leep).toMatchObject({ id: 'leep', title: 'LEEP', inputs: ['probs'], tasks: ['classification'], higher_is_better: true });
    expect(leep.citation).toMatch(/ICML 2020/);
  });
});

describe('DISCO from the command line', () => {
  const expected = JSON.parse(readFileSync(path.join(DEMO, 'expected.json'), 'utf8'));

  it('scores the demo like the numpy reference, with per-group detail and its parameters in the JSON', async () => {
    const r = await runCli([MANIFEST, '-s', 'disco', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.scorers[0]).toMatchObject({ id: 'disco', params: { groups: 8, components: 128, rescale: 'none' } });
    for (const m of j.models) {
      const ref = expected.models[m.name].disco;
      expectClose(m.scores.disco.value, ref.score, 1e-6, 1e-9, m.name);
      const d = m.scores.disco.details;
      expect(d.ratio).toHaveLength(8);
      expect(d.ncc).toHaveLength(8);
      d.ratio.forEach((v: number, g: number) => expectClose(v, ref.ratio[g], 1e-6, 1e-9));
      d.ncc.forEach((v: number, g: number) => expectClose(v, ref.ncc[g], 1e-6, 1e-9));
      expect(d.singular_values).toHaveLength(ref.singular_values.length);
    }
  });

  it('--disco-groups and --disco-components reach the scorer', async () => {
    const j = JSON.parse((await runCli([MANIFEST, '-s', 'disco', '--json', '--disco-groups', '4', '--disco-components', '16'])).stdout);
    expect(j.scorers[0].params).toEqual({ groups: 4, components: 16, rescale: 'none' });
    const d = j.models[0].scores.disco.details;
    expect(d).toMatchObject({ groups: 4, group_size: 4, n_components: 16 });
    expect(d.ratio).toHaveLength(4);
  });

  it('bad DISCO options are usage errors', async () => {
    const r = await runCli([MANIFEST, '-s', 'disco', '--disco-groups', '2.5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--disco-groups: expected a whole number/);
    expect((await runCli([MANIFEST, '--disco-rescale', 'zscore'])).code).toBe(2);
  });

  it('parameters come from the manifest, the flags override them, and both are checked against the declaration', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rank-models-params-'));
    const manifest = (params: string): string => {
      const f = path.join(dir, 'm.yaml');
      writeFileSync(
        f,
        `labels: ${path.join(DEMO, 'labels.npy')}\nscorers: [disco]\nparams:\n${params}\nmodels:\n  - {name: vit, features: ${path.join(DEMO, 'vit_b16.npy')}}\n`,
      );
      return f;
    };
    const fromManifest = JSON.parse((await runCli([manifest('  disco: {groups: 2, components: 8}'), '--json'])).stdout);
    expect(fromManifest.scorers[0].params).toEqual({ groups: 2, components: 8, rescale: 'none' });
    const overridden = JSON.parse((await runCli([manifest('  disco: {groups: 2, components: 8}'), '--json', '--disco-groups', '4'])).stdout);
    expect(overridden.scorers[0].params).toEqual({ groups: 4, components: 8, rescale: 'none' });
    const bad = await runCli([manifest('  disco: {groups: 0}')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/m\.yaml: params\.disco\.groups: expected a whole number ≥ 1, got 0/);
    const unknown = await runCli([manifest('  disco: {group: 4}')]);
    expect(unknown.stderr).toMatch(/params\.disco\.group: disco has no parameter 'group' \(its parameters: groups, components, rescale\)/);
    const unselected = await runCli([MANIFEST, '-s', 'logme', '--disco-groups', '4']);
    expect(unselected.code).toBe(0);
    expect(unselected.stderr).toMatch(/--disco-groups: no effect, disco is not selected/);
  });

  it('is n/a for multi-label targets and runs on regression targets', async () => {
    const ml = scorerCases().multilabel_5;
    const a = JSON.parse((await runCli([`m=${path.join(SC, ml.files.features!)}`, '--labels', path.join(SC, ml.files.labels), '-s', 'logme,disco', '--json'])).stdout);
    expect(a.task.type).toBe('multilabel');
    expect(a.models[0].scores.disco).toMatchObject({ value: null, status: 'n/a' });
    const rg = scorerCases().regression_3_targets;
    const b = JSON.parse((await runCli([`m=${path.join(SC, rg.files.features!)}`, '--labels', path.join(SC, rg.files.labels), '-s', 'disco', '--json'])).stdout);
    expectClose(b.models[0].scores.disco.value, rg.disco!.score, 1e-6, 1e-9);
    expect(b.models[0].scores.disco.details.lr).toHaveLength(8);
  });
});

describe('-s all', () => {
  it('selects every registered scorer that applies, in registry order, without repeating one named beside it', async () => {
    const { scorerIds, scorers } = await import('../../src/core/scorers/index.js');
    const j = JSON.parse((await runCli([MANIFEST, '-s', 'nce,all', '--json'])).stdout);
    const classification = scorerIds.filter((id) => scorers[id].tasks.includes('classification'));
    expect(j.scorers.map((s: { id: string }) => s.id)).toEqual(['nce', ...classification.filter((id) => id !== 'nce')]);
    expect(classification.length).toBeGreaterThanOrEqual(4);
  });

  it('leaves out scorers that do not support the task or whose inputs no model has', async () => {
    const { scorerIds, scorers } = await import('../../src/core/scorers/index.js');
    const rg = scorerCases().regression_3_targets;
    const j = JSON.parse((await runCli([`m=${path.join(SC, rg.files.features!)}`, '--labels', path.join(SC, rg.files.labels), '-s', 'all', '--json'])).stdout);
    const ids = j.scorers.map((s: { id: string }) => s.id);
    expect(ids).toEqual(scorerIds.filter((id) => scorers[id].tasks.includes('regression') && !(scorers[id].inputs as readonly string[]).includes('probs')));
    expect(ids).toContain('logme');
    expect(ids).not.toContain('leep');
  });

  it('names all among the choices when a scorer id is unknown', async () => {
    const r = await runCli([MANIFEST, '-s', 'logmee']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown scorer 'logmee' \(known: .*logme.*, or all\)/);
  });
});
