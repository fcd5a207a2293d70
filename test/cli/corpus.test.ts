/**
 * The bad-input corpus (fixtures/corpus/cases.json, written by
 * fixtures/gen_corpus.py): every case runs the CLI on a copy of the corpus
 * folder and must give its documented exit code and message, print no stack
 * trace, still rank the good models of the run, change no file (inputs are
 * hashed before and after; only the declared outputs may appear), and finish
 * within a few seconds.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runCli } from '../helpers/cli.js';

interface CorpusCase {
  id: string;
  args: string[];
  code: number | number[];
  stderr: string[];
  stdout?: string[];
  ranked?: string[];
  outputs?: string[];
  note?: string;
}

const CORPUS = path.join(FIXTURES, 'corpus');
const cases = JSON.parse(readFileSync(path.join(CORPUS, 'cases.json'), 'utf8')) as CorpusCase[];
const MAX_MS = 5000;

/** Every file under `dir` with the hash of its content. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(path.relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'rank-models-corpus-'));
  cpSync(CORPUS, work, { recursive: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the bad-input corpus', () => {
  it('holds at least 150 cases across every format and option', () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    const families = new Set(cases.map((c) => c.id.split('-')[0]));
    for (const f of ['npy', 'npz', 'feather', 'arrow', 'labels', 'probs', 'manifest', 'opt', 'out', 'folder']) expect(families).toContain(f);
  });

  for (const c of cases) {
    it(`${c.id}: exit ${Array.isArray(c.code) ? c.code.join('|') : c.code}${c.note ? ` (${c.note})` : ''}`, async () => {
      const before = snapshot(work);
      const t0 = performance.now();
      const r = await runCli(c.args, { cwd: work });
      const ms = performance.now() - t0;
      const codes = Array.isArray(c.code) ? c.code : [c.code];
      expect(codes, `exit code; stderr:\n${r.stderr}`).toContain(r.code);
      expect(r.stderr + r.stdout).not.toMatch(/\n\s+at .*:\d+/);
      expect(r.stderr).not.toMatch(/internal error/);
      for (const re of c.stderr) expect(r.stderr, `stderr should match /${re}/`).toMatch(new RegExp(re));
      for (const re of c.stdout ?? []) expect(r.stdout, `stdout should match /${re}/`).toMatch(new RegExp(re));
      if (c.ranked) {
        const report = JSON.parse(r.stdout) as { models: { name: string; position: number | null }[] };
        for (const name of c.ranked) expect(report.models.find((m) => m.name === name)?.position, `${name} ranked`).toEqual(expect.any(Number));
      }
      const after = snapshot(work);
      const outputs = new Set(c.outputs ?? []);
      for (const [file, hash] of before) if (!outputs.has(file)) expect(after.get(file), `${file} unchanged`).toBe(hash);
      for (const file of after.keys()) if (!before.has(file)) expect(outputs.has(file), `unexpected new file ${file}`).toBe(true);
      for (const file of outputs) {
        expect(statSync(path.join(work, file)).size).toBeGreaterThan(0);
        rmSync(path.join(work, file));
      }
      expect(ms).toBeLessThan(MAX_MS);
    });
  }
});
