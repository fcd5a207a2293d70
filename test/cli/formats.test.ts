import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, runCli } from '../helpers/cli.js';
import { expectClose } from '../helpers/tolerance.js';

const FMT = path.join(FIXTURES, 'formats');
const expected = JSON.parse(readFileSync(path.join(FMT, 'expected.json'), 'utf8')) as {
  logme: number;
  df24: { features: string; labels: string; files: Record<string, string>; logme: number };
};
const f = (name: string): string => path.join(FMT, name);

async function logmeOf(args: string[]): Promise<{ code: number; value: number; json: Record<string, unknown> & { task: { label_map: unknown[] } } }> {
  const r = await runCli([...args, '-s', 'logme', '--json']);
  const j = JSON.parse(r.stdout);
  return { code: r.code, value: j.models[0].scores.logme.value, json: j };
}

describe('every encoding gives the same LogME from the command line', () => {
  const features = [
    'features_f8.npy',
    'features_f4.npy',
    'features_f8_be.npy',
    'features_f4_fortran.npy',
    'features_f2.npy',
    'bundle_stored.npz#features',
    'bundle_deflate.npz#features',
    'features_plain.feather',
    'features_lz4.feather',
    'features_zstd.feather',
    'features_f16.feather',
    'features_list.arrow',
    'features_columns.arrows',
  ];
  for (const file of features) {
    it(file, async () => {
      const r = await logmeOf([`m=${f(file)}`, '--labels', f('labels.npy')]);
      expect(r.code).toBe(0);
      expectClose(r.value, expected.logme, 1e-6, 1e-9);
    });
  }
  for (const labels of ['labels.csv', 'labels.txt', 'labels_str.feather']) {
    it(`labels from ${labels}`, async () => {
      const r = await logmeOf([`m=${f('features_f8.npy')}`, '--labels', f(labels)]);
      expect(r.code).toBe(0);
      expectClose(r.value, expected.logme, 1e-6, 1e-9);
    });
  }
  it('string labels keep their names in the label map', async () => {
    const r = await logmeOf([`m=${f('features_f8.npy')}`, '--labels', f('labels_str.feather')]);
    expect(r.json.task.label_map).toEqual(['bird', 'cat', 'dog', 'fish']);
  });
});

describe('files written by polars, pandas and pyarrow rank exactly like the .npy of the same data', () => {
  const X = expected.df24;
  const scores = (j: { models: { name: string; scores: { logme: { value: number } } }[] }): Record<string, number> =>
    Object.fromEntries(j.models.map((m) => [m.name, m.scores.logme.value]));

  it('polars write_ipc(compression="lz4") vs the .npy in one run: the same LogME to 1e-12', async () => {
    const r = await runCli([`polars=${f('df24_polars_lz4.arrow')}`, `npy=${f(X.features)}`, '--labels', f(X.labels), '-s', 'logme', '--json']);
    expect(r.code).toBe(0);
    const s = scores(JSON.parse(r.stdout));
    expectClose(s.polars, s.npy, 1e-12, 1e-14, 'polars lz4 vs npy');
    expectClose(s.npy, X.logme, 1e-9, 1e-12, 'npy vs reference.py');
  });

  it('every polars, pandas and pyarrow file, labels from its own label column', async () => {
    const names = Object.keys(X.files);
    const r = await runCli([...names.map((n, i) => `m${i}=${f(n)}`), `npy=${f(X.features)}`, '--labels', `${f('df24_polars_lz4.arrows')}#label`, '-s', 'logme', '--json']);
    expect(r.code).toBe(0);
    const s = scores(JSON.parse(r.stdout));
    names.forEach((n, i) => expectClose(s[`m${i}`], s.npy, 1e-12, 1e-14, n));
  });

  it('one corrupt byte inside a polars LZ4 block: exit 3 alone, the file and the checksum mismatch named; exit 1 beside a good model', async () => {
    const b = readFileSync(f('df24_polars_lz4.arrow'));
    const at = b.indexOf(Buffer.from([0x04, 0x22, 0x4d, 0x18]));
    b[at + 7 + 4 + 20] ^= 0x01; // header (7 bytes), block size (4), then the block's data
    const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'rank-models-lz4-')), 'corrupt_polars.arrow');
    writeFileSync(bad, b);
    const alone = await runCli([`m=${bad}`, '--labels', f(X.labels)]);
    expect(alone.code).toBe(3);
    expect(alone.stderr).toContain(bad);
    expect(alone.stderr).toMatch(/corrupt or truncated Arrow IPC file \(Feather v2\): expected readable Arrow data, found an error while decoding it \(LZ4 frame: block checksum mismatch in block 1 \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)\)/);
    expect(alone.stderr).not.toMatch(/\n\s+at /);
    const mixed = await runCli([`m=${bad}`, `good=${f(X.features)}`, '--labels', f(X.labels), '-s', 'logme', '--json']);
    expect(mixed.code).toBe(1);
    expect(JSON.parse(mixed.stdout).ranking.best).toBe('good');
  });
});

describe('a complete-model .npz (features, labels, logits)', () => {
  it('needs no --labels and feeds LogME, LEEP and NCE from one file', async () => {
    const r = await runCli([f('bundle_deflate.npz'), f('bundle_stored.npz'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.task.labels).toBe(`${f('bundle_deflate.npz')}#labels`);
    expect(j.scorers.map((s: { id: string }) => s.id)).toEqual(['logme', 'leep', 'nce', 'disco']);
    const m = j.models.find((x: { name: string }) => x.name === 'bundle_deflate');
    expectClose(m.scores.logme.value, expected.logme, 1e-6, 1e-9);
    expect(m.inputs.probs).toMatchObject({ path: `${f('bundle_deflate.npz')}#logits`, kind: 'logits' });
    expect(m.scores.leep.value).toEqual(expect.any(Number));
  });
});

describe('a complete-model .npz whose labels differ from the run\'s labels', () => {
  it('is an input error for that model', async () => {
    const r = await runCli([f('bundle_stored.npz'), '--labels', path.join(FIXTURES, 'demo', 'labels.npy'), '-s', 'logme']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/bundle_stored\.npz: the labels in this \.npz differ from the labels of this run/);
  });
});

describe('bad files in every format: exit 3 alone, exit 1 beside a good model, named, no stack', () => {
  const bad: [string, RegExp][] = [
    ['bad_corrupt.feather', /./],
    ['bad_truncated.feather', /./],
    ['bad_truncated.arrows', /./],
    ['bad_truncated.npz', /./],
    ['bad_notnpz.zip', /./],
    ['bad_ragged.arrow', /row/],
    ['bad_strings.feather', /./],
    ['features_plain.feather#nope', /nope/],
    ['bundle_stored.npz#nope', /no key 'nope'/],
    ['model.pt', /np\.save/],
    ['legacy.pth', /np\.save/],
  ];
  for (const [file, pattern] of bad) {
    it(file, async () => {
      const alone = await runCli([`m=${f(file)}`, '--labels', f('labels.npy')]);
      expect(alone.code).toBe(3);
      expect(alone.stderr).toContain(f(file.split('#')[0]));
      if (file.includes('#')) expect(alone.stderr).toContain(file.split('#')[1]);
      expect(alone.stderr).toMatch(pattern);
      expect(alone.stderr).not.toMatch(/\n\s+at /);
      const mixed = await runCli([`m=${f(file)}`, `good=${f('features_f8.npy')}`, '--labels', f('labels.npy'), '-s', 'logme', '--json']);
      expect(mixed.code).toBe(1);
      expect(JSON.parse(mixed.stdout).ranking.best).toBe('good');
    });
  }
});

describe('stdin', () => {
  it('`-` reads an Arrow stream from standard input (spawned bin)', async () => {
    const exec = promisify(execFile);
    const bin = path.join(ROOT, 'bin', 'rank-models.js');
    const child = exec(process.execPath, [bin, '-', '--labels', f('labels.npy'), '-s', 'logme', '--json'], { cwd: ROOT });
    child.child.stdin!.end(readFileSync(f('features_columns.arrows')));
    const { stdout } = await child;
    const j = JSON.parse(stdout);
    expectClose(j.models[0].scores.logme.value, expected.logme, 1e-6, 1e-9);
  });
});

describe('streaming large .npy feature files', () => {
  const demo = path.join(FIXTURES, 'demo');
  it('a file above RANK_MODELS_STREAM_BYTES is read in chunks and scores exactly as when loaded whole', async () => {
    const args = [path.join(demo, 'models.yaml'), '-s', 'logme', '--json'];
    const whole = JSON.parse((await runCli(args)).stdout);
    const streamed = await runCli(args, { env: { RANK_MODELS_STREAM_BYTES: '1000' } });
    expect(streamed.code).toBe(0);
    const j = JSON.parse(streamed.stdout);
    for (const m of j.models) {
      const w = whole.models.find((x: { name: string }) => x.name === m.name);
      expectClose(m.scores.logme.value, w.scores.logme.value, 1e-12, 1e-14, m.name);
      expect(m.inputs.features.shape).toEqual(w.inputs.features.shape);
    }
  });
  it('a scorer that needs the features in memory reports it; the others still rank (exit 1)', async () => {
    const r = await runCli([path.join(demo, 'models.yaml'), '-s', 'logme,disco', '--json'], { env: { RANK_MODELS_STREAM_BYTES: '1000' } });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.models[0].scores.logme.value).toEqual(expect.any(Number));
    expect(j.models[0].scores.disco.message).toMatch(/streamed from disk/);
  });
  it('NaN in a streamed file is found with its row and column', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { npyBytes } = await import('../helpers/cli.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'rank-models-'));
    const values = Array.from({ length: 120 * 4 }, (_, i) => Math.sin(i));
    values[77 * 4 + 2] = NaN;
    writeFileSync(path.join(dir, 'f.npy'), npyBytes(values, [120, 4]));
    const r = await runCli([`m=${path.join(dir, 'f.npy')}`, '--labels', f('labels.npy')], { env: { RANK_MODELS_STREAM_BYTES: '100' } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/found NaN at row 77, column 2/);
  });
});
