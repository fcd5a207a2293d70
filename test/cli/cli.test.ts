import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, npyBytes, runCli } from '../helpers/cli.js';

const DEMO = path.join(FIXTURES, 'demo');
const MANIFEST = path.join(DEMO, 'models.yaml');
const NPY = path.join(FIXTURES, 'npy');
const LABELS = path.join(DEMO, 'labels.npy');
const DEMO_MODELS = ['vit_b16', 'resnet50', 'efficientnet_b0', 'mobilenet_v3', 'random_init'];
const ANSI = /\x1b\[/;

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), 'rank-models-'));
}

function noStack(text: string): void {
  expect(text).not.toMatch(/\n\s+at /);
}

describe('help and version', () => {
  it('--help prints usage to stdout and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: rank-models');
    expect(r.stdout).toContain('--labels');
    expect(r.stderr).toBe('');
  });
  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

describe('ranking the demo zoo', () => {
  it('prints a table with every model, the best model first, and exits 0', async () => {
    const r = await runCli([MANIFEST, '-s', 'logme']);
    expect(r.code).toBe(0);
    for (const m of DEMO_MODELS) expect(r.stdout).toContain(m);
    expect(r.stdout).not.toMatch(ANSI);
    const firstRow = r.stdout.split('\n')[2];
    expect(firstRow).toMatch(/^\s*1\s+\S+/);
    expect(r.stdout).toMatch(/best: \S+/);
    expect(r.stderr).not.toContain('error');
  });

  it('--format json follows the schema_version 1 contract', async () => {
    const r = await runCli(['--manifest', MANIFEST, '--format', 'json', '-s', 'logme']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.schema_version).toBe(1);
    expect(j.tool.name).toBe('rank-models');
    expect(j.task).toMatchObject({ type: 'classification', n_samples: 500, n_classes: 10 });
    expect(j.task.label_map).toHaveLength(10);
    expect(j.scorers.map((s: { id: string }) => s.id)).toEqual(['logme']);
    expect(j.models).toHaveLength(5);
    expect(new Set(j.ranking.order)).toEqual(new Set(DEMO_MODELS));
    expect(j.ranking.best).toBe(j.ranking.order[0]);
    expect(j.ranking.method).toBe('score:logme');
    const values = j.ranking.order.map((n: string) => j.models.find((m: { name: string }) => m.name === n).scores.logme.value);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
    expect(j.ranking.margin).toBeCloseTo(values[0] - values[1], 12);
    expect(j.ranking.order.at(-1)).toBe('random_init');
    const m0 = j.models[0];
    expect(m0.inputs.features.dtype).toMatch(/^<f[48]$/);
    expect(m0.inputs.features.shape[0]).toBe(500);
    expect(j.errors).toEqual([]);
  });

  it('--json is --format json, and stdout holds only the JSON', async () => {
    const r = await runCli([MANIFEST, '--json', '-s', 'logme']);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });

  it('--best prints only the top model name', async () => {
    const json = JSON.parse((await runCli([MANIFEST, '--json', '-s', 'logme'])).stdout);
    const r = await runCli([MANIFEST, '--best', '-s', 'logme']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${json.ranking.best}\n`);
  });

  it('accepts NAME=PATH and PATH models with --labels', async () => {
    const r = await runCli(['good=' + path.join(DEMO, 'vit_b16.npy'), path.join(DEMO, 'random_init.npy'), '--labels', LABELS, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.ranking.order).toEqual(['good', 'random_init']);
  });

  it('relative paths resolve against the working directory', async () => {
    const r = await runCli(['vit_b16.npy', 'random_init.npy', '--labels', 'labels.npy', '--best'], { cwd: DEMO });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('vit_b16\n');
  });

  it('a directory stands for every feature file in it (the labels file excluded)', async () => {
    const r = await runCli([DEMO, '--labels', LABELS, '--json', '-s', 'logme,leep']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.models.map((m: { name: string }) => m.name).sort()).toEqual([...DEMO_MODELS].sort());
    // NAME_logits.npy beside NAME.npy is that model's source head, not a model.
    const vit = j.models.find((m: { name: string }) => m.name === 'vit_b16');
    expect(vit.inputs.probs).toMatchObject({ path: path.join(DEMO, 'vit_b16_logits.npy'), kind: 'logits' });
    expect(vit.scores.leep.value).toEqual(expect.any(Number));
    expect(j.models.find((m: { name: string }) => m.name === 'efficientnet_b0').scores.leep.status).toBe('n/a');
  });

  it('csv, markdown and ndjson formats', async () => {
    const csv = await runCli([MANIFEST, '-f', 'csv', '-s', 'logme']);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('position,model,status,d,logme,logme_rank,aggregate,probs_kind,message');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/^1,/);
    const md = await runCli([MANIFEST, '-f', 'markdown', '-s', 'logme']);
    expect(md.stdout).toMatch(/^\| # \| model \| D \| LogME \| status \|/);
    const nd = await runCli([MANIFEST, '-f', 'ndjson', '-s', 'logme']);
    const rows = nd.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((x) => x.position)).toEqual([1, 2, 3, 4, 5]);
  });

  it('-o writes the report to a file, format from the extension', async () => {
    const dir = tmp();
    const out = path.join(dir, 'report.json');
    const r = await runCli([MANIFEST, '-o', out, '-s', 'logme']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8')).schema_version).toBe(1);
  });
});

describe('JSON manifest', () => {
  it('resolves paths against its own folder and accepts {path} entries', async () => {
    const dir = tmp();
    const rel = (f: string) => path.relative(dir, path.join(DEMO, f));
    const manifest = {
      version: 1,
      task: 'classification',
      labels: { path: rel('labels.npy') },
      scorers: ['logme', 'nce'],
      models: [
        { name: 'a', features: rel('vit_b16.npy'), probs: rel('vit_b16_logits.npy') },
        { name: 'b', features: { path: rel('random_init.npy') } },
      ],
    };
    writeFileSync(path.join(dir, 'models.json'), JSON.stringify(manifest));
    const r = await runCli(['--manifest', path.join(dir, 'models.json'), '--format', 'json'], { cwd: tmpdir() });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.scorers.map((x: { id: string }) => x.id)).toEqual(['logme', 'nce']);
    expect(j.ranking.best).toBe('a');
    expect(j.models.find((m: { name: string }) => m.name === 'b').scores.nce.status).toBe('n/a');
  });
});

describe('--threads and the kernel backend', () => {
  it('give the same scores with one thread, with the TypeScript kernels, and by default', async () => {
    const base = JSON.parse((await runCli([MANIFEST, '--json', '-s', 'logme,disco'])).stdout);
    const one = JSON.parse((await runCli([MANIFEST, '--json', '-s', 'logme,disco', '--threads', '1'])).stdout);
    const js = JSON.parse((await runCli([MANIFEST, '--json', '-s', 'logme,disco'], { env: { RANK_MODELS_BACKEND: 'js' } })).stdout);
    for (const other of [one, js]) {
      for (const m of other.models) {
        const b = base.models.find((x: { name: string }) => x.name === m.name);
        for (const id of ['logme', 'disco']) expect(m.scores[id].value).toBeCloseTo(b.scores[id].value, 10);
      }
    }
  });
  it('an unknown RANK_MODELS_BACKEND is a usage error', async () => {
    const r = await runCli([MANIFEST], { env: { RANK_MODELS_BACKEND: 'gpu' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RANK_MODELS_BACKEND: expected js, wasm or auto, found 'gpu'/);
  });
  it('--threads must be a positive whole number', async () => {
    const r = await runCli([MANIFEST, '--threads', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--threads/);
  });
});

describe('models scored on worker threads (RANK_MODELS_MODEL_WORKERS)', () => {
  it('give exactly the sequential report: values, order, inputs, warnings', async () => {
    const seq = JSON.parse((await runCli([MANIFEST, '--json'], { env: { RANK_MODELS_MODEL_WORKERS: 'never' } })).stdout);
    const par = await runCli([MANIFEST, '--json', '--threads', '2'], { env: { RANK_MODELS_MODEL_WORKERS: 'always' } });
    expect(par.code).toBe(0);
    const j = JSON.parse(par.stdout);
    expect(j.ranking).toEqual(seq.ranking);
    expect(j.scorers).toEqual(seq.scorers);
    j.models.forEach((m: { name: string; scores: Record<string, { value: number | null }>; inputs: unknown; warnings: unknown }, i: number) => {
      const s = seq.models[i];
      expect(m.name).toBe(s.name);
      expect(m.inputs).toEqual(s.inputs);
      expect(m.warnings).toEqual(s.warnings);
      for (const id of Object.keys(s.scores)) expect(m.scores[id].value).toBe(s.scores[id].value);
    });
  });
  it('a bad model on a worker fails alone (exit 1)', async () => {
    const r = await runCli([`bad=${path.join(NPY, 'truncated.npy')}`, path.join(DEMO, 'vit_b16.npy'), path.join(DEMO, 'resnet50.npy'), '--labels', LABELS, '--json', '-s', 'logme'], {
      env: { RANK_MODELS_MODEL_WORKERS: 'always' },
    });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.ranking.order.at(-1)).toBe('bad');
    expect(r.stderr).toMatch(/truncated\.npy: truncated data/);
  });
  it('an unknown mode is a usage error', async () => {
    expect((await runCli([MANIFEST], { env: { RANK_MODELS_MODEL_WORKERS: 'sometimes' } })).code).toBe(2);
  });
});

describe('colour', () => {
  it('is on for a TTY, off with NO_COLOR, --no-color, or a pipe; FORCE_COLOR forces it', async () => {
    expect((await runCli([MANIFEST, '-s', 'logme'], { tty: true })).stdout).toMatch(ANSI);
    expect((await runCli([MANIFEST, '-s', 'logme'], { tty: true, env: { NO_COLOR: '1' } })).stdout).not.toMatch(ANSI);
    expect((await runCli([MANIFEST, '-s', 'logme', '--no-color'], { tty: true })).stdout).not.toMatch(ANSI);
    expect((await runCli([MANIFEST, '-s', 'logme'], { env: { FORCE_COLOR: '1' } })).stdout).toMatch(ANSI);
    expect((await runCli([MANIFEST, '-s', 'logme', '--color'])).stdout).toMatch(ANSI);
  });
});

describe('bad input', () => {
  const bad: [string, string, RegExp][] = [
    ['truncated', 'truncated.npy', /expected \d+ bytes.*found \d+/i],
    ['wrong magic', 'wrong_magic.npy', /magic/i],
    ['object array', 'object.npy', /object|pickle/i],
    ['3-D array', 'cube_f4.npy', /expected a (1-D or )?2-D array.*found shape \(2, 3, 4\)/],
  ];
  for (const [what, file, pattern] of bad) {
    it(`${what}: exit 3 alone, exit 1 beside a good model, file named, no stack`, async () => {
      const f = path.join(NPY, file);
      expect(existsSync(f)).toBe(true);
      const alone = await runCli([`m=${f}`, '--labels', LABELS]);
      expect(alone.code).toBe(3);
      expect(alone.stderr).toContain(f);
      expect(alone.stderr).toMatch(pattern);
      noStack(alone.stderr);
      const mixed = await runCli([`m=${f}`, path.join(DEMO, 'vit_b16.npy'), '--labels', LABELS, '--json']);
      expect(mixed.code).toBe(1);
      const j = JSON.parse(mixed.stdout);
      expect(j.ranking.order[0]).toBe('vit_b16');
      expect(j.models.find((m: { name: string }) => m.name === 'm').status).toBe('error');
      expect(j.errors[0].message).toContain(f);
      expect(mixed.stderr).toMatch(pattern);
    });
  }

  it('mismatched N: names the file, the expected and the found row count', async () => {
    const f = path.join(FIXTURES, 'scorers', 'logme_n_lt_d_60x256', 'features.npy');
    const r = await runCli([`m=${f}`, '--labels', LABELS]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(f);
    expect(r.stderr).toMatch(/expected 500 rows.*found 60/);
    noStack(r.stderr);
  });

  it('missing feature file beside a good model: exit 1, the others ranked', async () => {
    const r = await runCli(['ghost=/nonexistent/x.npy', path.join(DEMO, 'vit_b16.npy'), '--labels', LABELS]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/nonexistent/x.npy: file not found');
    expect(r.stdout).toContain('vit_b16');
  });

  it('unreadable labels: exit 3', async () => {
    const r = await runCli([path.join(DEMO, 'vit_b16.npy'), '--labels', path.join(NPY, 'wrong_magic.npy')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('wrong_magic.npy');
    noStack(r.stderr);
  });

  it('a single class is an input error', async () => {
    const dir = tmp();
    const y = path.join(dir, 'one-class.npy');
    writeFileSync(y, npyBytes(new Array(500).fill(3), [500], '<i8'));
    const r = await runCli([path.join(DEMO, 'vit_b16.npy'), '--labels', y]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(y);
    expect(r.stderr).toMatch(/at least 2 classes; found 1/);
  });
});

describe('usage errors (exit 2)', () => {
  it('unknown option', async () => {
    const r = await runCli(['--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--frobnicate'/);
  });
  it('unknown scorer', async () => {
    const r = await runCli([MANIFEST, '-s', 'logme,bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--scorer.*unknown scorer 'bogus'/);
  });
  it('no models / no labels', async () => {
    expect((await runCli([])).code).toBe(2);
    const r = await runCli([path.join(DEMO, 'vit_b16.npy')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no labels/);
  });
  it('a bad manifest lists one line per problem with its path', async () => {
    const dir = tmp();
    const file = path.join(dir, 'm.yaml');
    writeFileSync(file, 'version: 2\nlabels: y.npy\nmodels:\n  - name: a\n  - features: b.npy\n    extra: 1\n');
    const r = await runCli([file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: version: expected version: 1`);
    expect(r.stderr).toMatch(/models\[0\]: a model needs features, probs, or both/);
    expect(r.stderr).toMatch(/models\[1\]\.name: /);
    expect(r.stderr).toMatch(/models\[1\]: .*extra/);
  });
  it('a manifest that is not valid YAML', async () => {
    const dir = tmp();
    const file = path.join(dir, 'm.yml');
    writeFileSync(file, 'models: [unclosed\n');
    const r = await runCli([file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not valid YAML');
  });
  it('duplicate model names', async () => {
    const f = path.join(DEMO, 'vit_b16.npy');
    const r = await runCli([`a=${f}`, `a=${f}`, '--labels', LABELS]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/two models are named 'a'/);
  });
});

describe('warnings and CI gates', () => {
  it('N < D is a warning on stderr, silenced by -q', async () => {
    const f = path.join(FIXTURES, 'scorers', 'logme_n_lt_d_60x256', 'features.npy');
    const y = path.join(FIXTURES, 'scorers', 'logme_n_lt_d_60x256', 'labels.npy');
    const r = await runCli([`m=${f}`, '--labels', y]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: m: N < D \(60 samples, 256 dimensions\)/);
    const q = await runCli([`m=${f}`, '--labels', y, '-q']);
    expect(q.stderr).toBe('');
  });
  it('--progress plain prints one line per model on stderr, stdout unchanged', async () => {
    const r = await runCli([MANIFEST, '-s', 'logme', '--progress', 'plain', '--best']);
    expect(r.stdout).toBe('vit_b16\n');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^\[1\/5\] vit_b16: ok \(\d+\.\d\d s\)$/);
    expect(lines[4]).toMatch(/^\[5\/5\] random_init: ok/);
  });
  it('--expect-top fails with exit 4 when another model wins', async () => {
    const r = await runCli([MANIFEST, '--expect-top', 'random_init', '-s', 'logme']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/gate failed/);
    expect(r.stdout).toContain('random_init');
  });
  it('--min-margin passes or fails on the ranking margin', async () => {
    const j = JSON.parse((await runCli([MANIFEST, '--json', '-s', 'logme'])).stdout);
    expect((await runCli([MANIFEST, '-q', '-s', 'logme', '--min-margin', String(j.ranking.margin / 2)])).code).toBe(0);
    expect((await runCli([MANIFEST, '-q', '-s', 'logme', '--min-margin', String(j.ranking.margin * 2)])).code).toBe(4);
  });
});

describe('the built bin', () => {
  const exec = promisify(execFile);
  const bin = path.join(ROOT, 'bin', 'rank-models.js');
  it('ranks the demo as JSON through a pipe', async () => {
    const { stdout } = await exec(process.execPath, [bin, MANIFEST, '--format', 'json', '-s', 'logme'], { cwd: ROOT });
    expect(JSON.parse(stdout).ranking.best).toBeTruthy();
  });
  it('exits 3 with a one-line message on a bad file', async () => {
    const err = await exec(process.execPath, [bin, path.join(NPY, 'truncated.npy'), '--labels', LABELS], { cwd: ROOT }).catch((e) => e);
    expect(err.code).toBe(3);
    expect(err.stderr).toContain('truncated.npy');
    noStack(err.stderr);
  });
});
