/**
 * A real single-node Slurm cluster for integration tests, through
 * scripts/slurm/install.sh and scripts/slurm/cluster.sh (see docs/slurm-testing.md).
 *
 * startSlurm() never throws for an environment that cannot run Slurm: it returns
 * `{ skip: reason }` so the test can skip visibly with that reason.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './cli.js';

export const SLURM_SCRIPTS = path.join(ROOT, 'scripts', 'slurm');

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SlurmCluster {
  /** The cluster's folder: etc/slurm.conf, state, spool, run/*.pid, log/*.log. */
  dir: string;
  /** The environment for Slurm commands: this process's, without inherited SLURM_* variables, plus SLURM_CONF. */
  env: Record<string, string>;
  /** Cancels jobs and stops the daemons; removes dir unless RANK_MODELS_SLURM_KEEP=1. Safe to call twice. */
  stop(): Promise<void>;
}

export type SlurmStart = SlurmCluster | { skip: string };

/** Runs a command without a shell; a timeout kills it and yields code 124. */
export function exec(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + `${cmd}: ${err.message}\n` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `${cmd}: timed out after ${opts.timeoutMs} ms\n`;
      resolve({ code: timedOut ? 124 : (code ?? (signal ? 128 : 1)), stdout, stderr });
    });
  });
}

/** process.env without SLURM_* variables (a test run inside a Slurm job must not leak its own job into ours). */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('SLURM_')) env[k] = v;
  }
  return env;
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/**
 * Installs Slurm when missing (scripts/slurm/install.sh; only checks with
 * RANK_MODELS_SLURM_INSTALL=0) and starts a cluster in a fresh temporary folder.
 * Returns `{ skip: reason }` when that is impossible: not Linux, not root,
 * disabled with RANK_MODELS_SLURM=0, install (or check) or start failed.
 */
export async function startSlurm(opts: { timeoutMs?: number } = {}): Promise<SlurmStart> {
  if (process.env.RANK_MODELS_SLURM === '0') return { skip: 'disabled by RANK_MODELS_SLURM=0' };
  if (process.platform !== 'linux') return { skip: `Slurm test cluster needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { skip: 'Slurm test cluster needs root (slurmd and munged run as root/munge)' };

  const env = cleanEnv();
  // RANK_MODELS_SLURM_INSTALL=0: only check (CI has run install.sh already).
  const installArgs = process.env.RANK_MODELS_SLURM_INSTALL === '0' ? ['--check'] : [];
  const install = await exec('bash', [path.join(SLURM_SCRIPTS, 'install.sh'), ...installArgs], { env, timeoutMs: 5 * 60_000 });
  if (install.code !== 0) {
    return { skip: `${['scripts/slurm/install.sh', ...installArgs].join(' ')} failed (exit ${install.code}):\n${lastLines(install.stderr, 20)}` };
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'rank-models-slurm-'));
  const started = await exec('bash', [path.join(SLURM_SCRIPTS, 'cluster.sh'), 'start', dir], {
    env,
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
  if (started.code !== 0) {
    // Stop whatever may be left (a timed-out start); the folder keeps the logs, if any.
    await exec('bash', [path.join(SLURM_SCRIPTS, 'cluster.sh'), 'stop', dir], { env, timeoutMs: 60_000 });
    const where = existsSync(path.join(dir, 'log')) ? `; logs in ${dir}` : '';
    if (!where) rmSync(dir, { recursive: true, force: true });
    return { skip: `scripts/slurm/cluster.sh start failed (exit ${started.code}${where}):\n${lastLines(started.stderr, 60)}` };
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      const r = await exec('bash', [path.join(SLURM_SCRIPTS, 'cluster.sh'), 'stop', dir], { env, timeoutMs: 90_000 });
      if (r.code !== 0) throw new Error(`cluster.sh stop ${dir} failed (exit ${r.code}):\n${r.stderr}`);
      if (process.env.RANK_MODELS_SLURM_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    })());

  return { dir, env: { ...env, SLURM_CONF: path.join(dir, 'etc', 'slurm.conf') }, stop };
}

export interface SubmitArrayOptions {
  /** Slurm array spec, e.g. '0-5'. */
  array: string;
  /** Working directory of the tasks (sbatch --chdir) and of sbatch. */
  cwd: string;
  /** Environment of sbatch, exported to the tasks: start from SlurmCluster.env. */
  env: Record<string, string>;
  /** sbatch --output pattern; default <cwd>/slurm-%A_%a.out. */
  output?: string;
  /** Extra sbatch arguments. */
  sbatchArgs?: string[];
  /** Kill sbatch after this long (default 110 s). */
  timeoutMs?: number;
}

/**
 * Submits `script` (the text of a batch script; `#!/bin/sh` is added when it has
 * no #! line) as an array job with `sbatch --wait`, so the promise settles when
 * every task has ended and `code` is the job's exit code (non-zero if a task failed).
 */
export async function submitArray(script: string, opts: SubmitArrayOptions): Promise<ExecResult> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rank-models-sbatch-'));
  try {
    const file = path.join(tmp, 'job.sh');
    writeFileSync(file, script.startsWith('#!') ? script : `#!/bin/sh\n${script}`, { mode: 0o755 });
    const args = [
      '--wait',
      `--array=${opts.array}`,
      `--output=${opts.output ?? path.join(opts.cwd, 'slurm-%A_%a.out')}`,
      `--chdir=${opts.cwd}`,
      '--job-name=rank-models-test',
      ...(opts.sbatchArgs ?? []),
      file, // sbatch copies the script when it submits, so it may go afterwards
    ];
    return await exec('sbatch', args, { cwd: opts.cwd, env: opts.env, timeoutMs: opts.timeoutMs ?? 110_000 });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
