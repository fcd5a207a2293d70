import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, runCli } from '../helpers/cli.js';
import { expectClose } from '../helpers/tolerance.js';

const FMT = path.join(FIXTURES, 'formats');
const expected = JSON.parse(readFileSync(path.join(FMT, 'expected.json'), 'utf8')) as { logme: number };
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
