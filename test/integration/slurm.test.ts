/**
 * Smoke test on a real single-node Slurm cluster (scripts/slurm/, docs/slurm-testing.md):
 * an array job's tasks see SLURM_ARRAY_TASK_ID / _COUNT / _MIN, which is what
 * `rank-models --shard auto` will read.
 *
 * Where Slurm cannot be installed or started the tests are skipped, visibly: the
 * reason is printed with console.warn and is the name of the skipped test.
 * RANK_MODELS_SLURM_REQUIRED=1 turns that skip into a failure.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSlurm, submitArray } from '../helpers/slurm.js';

const SLURM_TEST_TIMEOUT = 120_000;

const slurm = await startSlurm();
const skip = 'skip' in slurm ? slurm.skip : undefined;
const required = process.env.RANK_MODELS_SLURM_REQUIRED === '1';

if (skip !== undefined) {
  console.warn(`SKIPPED slurm integration: ${skip}`);
  describe('slurm integration', () => {
    if (required) {
      it('needs Slurm (RANK_MODELS_SLURM_REQUIRED=1)', () => {
        throw new Error(`Slurm is required but unavailable: ${skip}`);
      });
    } else {
      it.skip(`SKIPPED: ${skip.split('\n')[0]}`, () => {});
    }
  });
}

describe.skipIf(skip !== undefined)('slurm integration', () => {
  const dirs: string[] = [];
  const tempDir = (prefix: string): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(d);
    return d;
  };

  afterAll(async () => {
    try {
      if (!('skip' in slurm)) await slurm.stop();
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  }, 90_000);

  it(
    'a 6-task array job: each task sees its array id, count and min',
    async () => {
      if ('skip' in slurm) return;
      const out = tempDir('rank-models-array-');
      const logs = tempDir('rank-models-array-logs-');
      const r = await submitArray(
        [
          '#!/bin/sh',
          'set -e',
          'f="task-$SLURM_ARRAY_TASK_ID-of-$SLURM_ARRAY_TASK_COUNT-min-$SLURM_ARRAY_TASK_MIN"',
          'echo "id=$SLURM_ARRAY_TASK_ID count=$SLURM_ARRAY_TASK_COUNT min=$SLURM_ARRAY_TASK_MIN max=$SLURM_ARRAY_TASK_MAX job=$SLURM_ARRAY_JOB_ID" > "$f.tmp"',
          'mv "$f.tmp" "$f"',
          '',
        ].join('\n'),
        { array: '0-5', cwd: out, env: slurm.env, output: path.join(logs, 'slurm-%A_%a.out') },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const jobId = /Submitted batch job (\d+)/.exec(r.stdout)?.[1];
      expect(jobId, r.stdout).toBeDefined();

      const expected = [0, 1, 2, 3, 4, 5].map((i) => `task-${i}-of-6-min-0`);
      expect(readdirSync(out).sort()).toEqual(expected);
      for (let i = 0; i < 6; i++) {
        expect(readFileSync(path.join(out, expected[i]), 'utf8')).toBe(`id=${i} count=6 min=0 max=5 job=${jobId}\n`);
      }
    },
    SLURM_TEST_TIMEOUT,
  );

  it(
    "submitArray returns the job's exit code: non-zero when a task fails",
    async () => {
      if ('skip' in slurm) return;
      const out = tempDir('rank-models-array-fail-');
      const r = await submitArray('[ "$SLURM_ARRAY_TASK_ID" != 1 ] || exit 3\n', {
        array: '0-1',
        cwd: out,
        env: slurm.env,
      });
      expect(r.code).toBe(3);
    },
    SLURM_TEST_TIMEOUT,
  );
});
