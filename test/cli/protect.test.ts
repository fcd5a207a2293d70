/**
 * Regression tests for "no silent wrong answer, no lost file": one block per
 * protection, each failing on the code before it (README "How rank-models
 * protects you"). Inputs come from fixtures/corpus (fixtures/gen_corpus.py);
 * reference values in fixtures/corpus/expected.json are from the float64
 * numpy reference.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runCli } from '../helpers/cli.js';

const CORPUS = path.join(FIXTURES, 'corpus');
const expected = JSON.parse(readFileSync(path.join(CORPUS, 'expected.json'), 'utf8')) as Record<string, number>;
const ZOO = ['good_a=data/good_a.npy', 'good_b=data/good_b.npy', '--labels', 'data/labels.npy'];

interface Json {
  models: { name: string; position: number | null; warnings: string[]; inputs: { probs?: { kind: string }; features?: { shape: number[] } }; aggregate: number | null; scores: Record<string, { value: number | null; rank?: number; tie?: boolean; warnings?: string[] }> }[];
  ranking: { best: string | null; order: string[]; tie: string[]; margin: number | null; aggregate_scorers: string[]; notes: string[]; method: string };
  task: { type: string; centred_targets: boolean };
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'rank-models-protect-'));
  cpSync(CORPUS, work, { recursive: true });
});

const hash = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const run = (args: string[]) => runCli(args, { cwd: work });
const json = (stdout: string): Json => JSON.parse(stdout) as Json;
const model = (j: Json, name: string) => j.models.find((m) => m.name === name)!;

describe('1. -o never overwrites an input', () => {
  it('refuses the features, the labels and the manifest as -o, also through ./x/.., a symbolic link and a hard link; the file is unchanged', async () => {
    const victim = path.join(work, 'data/good_a.npy');
    const before = hash(victim);
    symlinkSync(victim, path.join(work, 'link_to_a.json'));
    linkSync(victim, path.join(work, 'hard_to_a.json'));
    for (const out of ['data/good_a.npy', './data/../data/good_a.npy', 'link_to_a.json', 'hard_to_a.json', 'data/labels.npy']) {
      const r = await run([...ZOO, '-o', out, '--format', 'json']);
      expect(r.code, out).toBe(2);
      expect(r.stderr).toMatch(/that is an input of this run/);
    }
    const m = await run(['items/names.json', '-o', 'items/names.json']);
    expect(m.code).toBe(2);
    expect(hash(victim)).toBe(before);
  });
});

describe('2. the report is written atomically, only when there is something to write', () => {
  it('an exit-3 run leaves an existing -o file untouched', async () => {
    const out = path.join(work, 'keep.json');
    writeFileSync(out, '{"kept": true}\n');
    const r = await run(['bad=bad/empty.npy', '--labels', 'data/labels.npy', '-o', 'keep.json']);
    expect(r.code).toBe(3);
    expect(readFileSync(out, 'utf8')).toBe('{"kept": true}\n');
  });
  it('a folder that does not exist is an error naming it, and is not created', async () => {
    const r = await run([...ZOO, '-o', 'no/such/folder/r.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path.join(work, 'no/such/folder'));
    expect(existsSync(path.join(work, 'no'))).toBe(false);
  });
  it('an unknown extension without --format is a usage error listing the known ones', async () => {
    const r = await run([...ZOO, '-o', 'r.xyz']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\.json .*\.csv .*\.md/);
    expect(existsSync(path.join(work, 'r.xyz'))).toBe(false);
  });
  it('replaces an existing report by a rename and leaves no temporary file behind', async () => {
    const out = path.join(work, 'replace.csv');
    writeFileSync(out, 'old\n');
    const inode = statSync(out).ino;
    const r = await run([...ZOO, '-s', 'logme', '-o', 'replace.csv']);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^position,model/);
    expect(statSync(out).ino).not.toBe(inode);
    expect(readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('4. table columns that are not features', () => {
  it('a pandas target column and the index are left out, with a warning; LogME equals the features alone', async () => {
    const r = await run(['m=items/pandas_target_index.feather', '--labels', 'data/labels.npy', '-s', 'logme', '--json']);
    expect(r.code).toBe(0);
    const m = model(json(r.stdout), 'm');
    expect(m.inputs.features!.shape).toEqual([60, 6]);
    expect(m.warnings.join(' ')).toMatch(/used 6 numeric columns; left out 'index' \(id-like\), 'target' \(label-like\)/);
    expect(m.scores.logme.value).toBeCloseTo(expected.logme_good_a, 10);
  });
  it('ids by name (sample_id) and by content (1..N) are left out; columns can be named with a range', async () => {
    const auto = json((await run(['m=items/ids_by_name_and_content.feather', '--labels', 'data/labels.npy', '-s', 'logme', '--json'])).stdout);
    expect(model(auto, 'm').inputs.features!.shape).toEqual([60, 6]);
    expect(model(auto, 'm').warnings.join(' ')).toMatch(/'sample_id' \(id-like\), 'n' \(id-like\), 'label' \(label-like\)/);
    const ranged = json((await run(['m=items/ids_by_name_and_content.feather#f0..f5', '--labels', 'data/labels.npy', '-s', 'logme', '--json'])).stdout);
    expect(model(ranged, 'm').scores.logme.value).toBeCloseTo(expected.logme_good_a, 10);
    expect(model(ranged, 'm').warnings).toEqual([]);
  });
});

describe('5. model names', () => {
  it('only the known extension is stripped', async () => {
    const j = json((await run(['items/vit.b16.npy', 'items/model_lr0.001.npy', '--labels', 'data/labels.npy', '-s', 'logme', '--json'])).stdout);
    expect(j.models.map((m) => m.name).sort()).toEqual(['model_lr0.001', 'vit.b16']);
  });
  it('two files of a folder with one name are an error naming both', async () => {
    const r = await run(['items/collide', '--labels', 'data/labels.npy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/m\.feather and m\.npy would both be the model 'm'/);
  });
  it('a labels-like file in a model folder is not a model', async () => {
    const r = await run(['items/withlabels', '--labels', 'data/labels.npy', '-s', 'logme', '--json']);
    expect(r.code).toBe(0);
    expect(json(r.stdout).models.map((m) => m.name).sort()).toEqual(['a', 'b']);
    expect(r.stderr).toMatch(/skipped .*labels\.npy: named like a labels file/);
  });
  it('in a folder, a FIFO is skipped with a note instead of blocking the run', async () => {
    const dir = path.join(work, 'fifo_folder');
    mkdirSync(dir);
    cpSync(path.join(work, 'data/good_a.npy'), path.join(dir, 'a.npy'));
    execFileSync('mkfifo', [path.join(dir, 'pipe.npy')]);
    const r = await run(['fifo_folder', '--labels', 'data/labels.npy', '-s', 'logme', '--json']);
    expect(r.code).toBe(0);
    expect(json(r.stdout).models.map((m) => m.name)).toEqual(['a']);
    expect(r.stderr).toMatch(/skipped .*pipe\.npy: a FIFO/);
  });
});

describe('6. ties', () => {
  it('identical models share rank 1, the output says tie, and --best, --expect-top and --min-margin handle it', async () => {
    const args = ['items/twin_y.npy', 'items/twin_x.npy', 'good_b=data/good_b.npy', '--labels', 'data/labels.npy', '-s', 'logme'];
    const j = json((await run([...args, '--json'])).stdout);
    expect(j.ranking.tie).toEqual(['twin_x', 'twin_y']);
    expect(j.ranking.margin).toBe(0);
    expect(model(j, 'twin_x').position).toBe(1);
    expect(model(j, 'twin_y').position).toBe(1);
    expect(model(j, 'twin_y').scores.logme).toMatchObject({ rank: 1, tie: true });
    const table = await run(args);
    expect(table.stdout).toMatch(/^=1\s+twin_x/m);
    expect(table.stdout).toContain('tie for first: twin_x, twin_y');
    const best = await run([...args, '--best']);
    expect(best.code).toBe(4);
    expect(best.stdout).toBe('twin_x\ntwin_y\n');
    const top = await run([...args, '--expect-top', 'twin_x']);
    expect(top.code).toBe(4);
    expect(top.stderr).toMatch(/'twin_x' ties for first with twin_y/);
    expect((await run([...args, '--min-margin', '0.01'])).code).toBe(4);
  });
});

describe('7. the mean rank compares like with like', () => {
  it('a scorer some model lacks is left out of the aggregate, and the report says so', async () => {
    const r = await run([...ZOO, '--probs', 'good_b=data/good_a_logits.npy', '-s', 'logme,leep,disco', '--json']);
    const j = json(r.stdout);
    expect(j.ranking.method).toBe('mean-rank');
    expect(j.ranking.aggregate_scorers).toEqual(['logme', 'disco']);
    expect(j.ranking.notes).toEqual(['LEEP is left out of the mean rank: no value for good_a']);
    for (const m of j.models) expect(m.aggregate).toBe(((m.scores.logme.rank ?? 0) + (m.scores.disco.rank ?? 0)) / 2);
  });
});

describe('8. a mistyped --probs name', () => {
  it('is a usage error with the closest name', async () => {
    const r = await run([...ZOO, '--probs', 'good_aa=data/good_a_logits.npy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/did you mean 'good_a'/);
  });
});

describe('9. probabilities or logits', () => {
  it('a rounding-level negative entry is still probabilities (LEEP as the cleaned matrix)', async () => {
    const j = json((await run([...ZOO, '--probs', 'good_a=items/probs_tiny_negative.npy', '-s', 'leep', '--json'])).stdout);
    expect(model(j, 'good_a').inputs.probs!.kind).toBe('probs');
    expect(model(j, 'good_a').scores.leep.value).toBeCloseTo(expected.leep_clean, 12);
  });
  it('percentages are divided by 100 with a warning, and the decision shows in the table', async () => {
    const r = await run([...ZOO, '--probs', 'good_a=items/probs_percent.npy', '-s', 'leep,logme']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/read as percentages and divided by 100/);
    expect(r.stdout).toMatch(/source-head outputs read as percentages \(divided by 100\): good_a/);
    const j = json((await run([...ZOO, '--probs', 'good_a=items/probs_percent.npy', '-s', 'leep', '--json'])).stdout);
    expect(model(j, 'good_a').scores.leep.value).toBeCloseTo(expected.leep_percent, 10);
  });
  it('logits are named as such in the table', async () => {
    const r = await run([...ZOO, '--probs', 'good_a=data/good_a_logits.npy', '-s', 'leep,logme']);
    expect(r.stdout).toMatch(/source-head outputs read as logits \(softmax applied\): good_a/);
  });
  it('damaged probabilities are an error, never softmaxed as logits', async () => {
    const r = await run([...ZOO, '--probs', 'good_a=items/probs_damaged.npy', '-s', 'leep,logme', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/look like probabilities .* row 7/);
  });
});

describe('10. task inference', () => {
  it('integer sample ids are not silently hundreds of classes', async () => {
    const r = await run(['good_a=data/good_a.npy', '--labels', 'items/labels_ids.npy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--task regression/);
    expect((await run(['good_a=data/good_a.npy', '--labels', 'items/labels_ids.npy', '--task', 'regression', '-s', 'logme'])).code).toBe(0);
  });
});

describe('11. regression targets with a large mean', () => {
  it('warn by default; --center-targets gives LogME of the centred targets', async () => {
    const r = await run(['good_a=data/good_a.npy', '--labels', 'items/targets_offset.npy', '-s', 'logme', '--json']);
    expect(r.stderr).toMatch(/large offset/);
    expect(model(json(r.stdout), 'good_a').scores.logme.value).toBeCloseTo(expected.logme_offset_a, 9);
    const c = await run(['good_a=data/good_a.npy', '--labels', 'items/targets_offset.npy', '-s', 'logme', '--json', '--center-targets']);
    expect(c.stderr).not.toMatch(/large offset/);
    const j = json(c.stdout);
    expect(j.task.centred_targets).toBe(true);
    expect(model(j, 'good_a').scores.logme.value).toBeCloseTo(expected.logme_centred_a, 9);
  });
});

describe('12. DISCO near its prior', () => {
  it('warns for each model and notes that the DISCO order is noise when every model is there', async () => {
    const r = await run(['items/l2_a.npy', 'items/l2_b.npy', '--labels', 'data/labels.npy', '-s', 'disco']);
    expect(r.stderr.match(/close to the class prior/g)).toHaveLength(2);
    expect(r.stderr).toMatch(/--disco-rescale unit-variance/);
    expect(r.stdout).toMatch(/DISCO is at its uninformative value for every model/);
  });
});

describe('13. FIFOs and process substitution', () => {
  it('a FIFO given as a model is read as a stream', async () => {
    const fifo = path.join(work, 'model.fifo');
    execFileSync('mkfifo', [fifo]);
    // A separate process writes into the FIFO, as `<(cat f.npy)` does.
    const writer = spawn('sh', ['-c', `cat data/good_a.npy > ${fifo}`], { cwd: work, stdio: 'ignore' });
    const written = new Promise((resolve) => writer.on('exit', resolve));
    const r = await run([`m=${fifo}`, '--labels', 'data/labels.npy', '-s', 'logme', '--json']);
    expect(await written).toBe(0);
    expect(r.code).toBe(0);
    expect(model(json(r.stdout), 'm').scores.logme.value).toBeCloseTo(expected.logme_good_a, 10);
  });
});

describe('14. labels', () => {
  it('numpy unicode and bytes arrays are class names', async () => {
    for (const f of ['items/labels_unicode.npy', 'items/labels_bytes.npy']) {
      const j = json((await run(['good_a=data/good_a.npy', '--labels', f, '-s', 'logme', '--json'])).stdout);
      expect(model(j, 'good_a').scores.logme.value).toBeCloseTo(expected.logme_good_a, 10);
    }
  });
  it('semicolon and tab separated .csv files are read as such', async () => {
    for (const f of ['items/labels_semicolon.csv', 'items/labels_tab.csv']) {
      const j = json((await run(['good_a=data/good_a.npy', '--labels', f, '-s', 'logme', '--json'])).stdout);
      expect(model(j, 'good_a').scores.logme.value).toBeCloseTo(expected.logme_good_a, 10);
    }
  });
  it('an empty value is an error naming its line, never dropped', async () => {
    const r = await run(['good_a=data/good_a.npy', '--labels', 'items/labels_blank.csv']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/labels_blank\.csv: expected a value on every row, found an empty one at line 31/);
  });
  it('when every model disagrees with the labels on the row count, the message names the labels file', async () => {
    const r = await run([...ZOO.slice(0, 2), '--labels', 'bad/labels_50.npy']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/labels_50\.npy: the labels have 50 rows, but every model has a different number of rows/);
  });
});

describe('15. option errors in our own words', () => {
  it('numbers, unknown --expect-top names, both failing gates, help commands', async () => {
    const m = await run([...ZOO, '--min-margin', 'abc']);
    expect(m.stderr).toBe("error: --min-margin: expected a number, got 'abc'\n");
    const t = await run([...ZOO, '--expect-top', 'nobody']);
    expect(t.code).toBe(2);
    const g = await run([...ZOO, '-s', 'logme', '--expect-top', 'good_b', '--min-margin', '100']);
    expect(g.code).toBe(4);
    expect(g.stderr).toMatch(/gate failed: --expect-top[\s\S]*gate failed: --min-margin/);
    const h = await run(['help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('Usage: rank-models');
    const s = await run(['scorers', '--help']);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('Usage: rank-models scorers');
  });
  it('an unusable -o is found before any file is read', async () => {
    const r = await run(['m=bad/empty.npy', '--labels', 'data/labels.npy', '-o', 'nowhere/r.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('empty.npy');
  });
});

describe('16. control characters and long names', () => {
  it('are escaped in the table and on stderr, kept exactly in JSON; long names are shortened in the table only', async () => {
    const table = await run(['items/names.json', '-s', 'logme']);
    expect(table.stdout).not.toMatch(/\x1b|\x07/);
    expect(table.stdout).toContain('evil\\e[31mred\\x07');
    expect(table.stdout).toMatch(/ x{20}…ch_0090_step_123456 /);
    const md = await run(['items/names.json', '-s', 'logme', '-f', 'markdown']);
    expect(md.stdout).not.toMatch(/\x1b|\x07/);
    const j = json((await run(['items/names.json', '-s', 'logme', '--json'])).stdout);
    expect(j.models.map((m) => m.name)).toContain('evil\u001b[31mred\u0007');
    expect(j.models.map((m) => m.name)).toContain(`${'x'.repeat(30)}_very_long_checkpoint_name_epoch_0090_step_123456`);
  });
});
