#!/usr/bin/env node
// Benchmark harness for `npm run bench` (see bench/README.md).
//
// Times rank-models against the fast numpy programs of bench/numpy_ref.py as
// whole processes on the same seeded .npy files (bench/make_data.py), runs
// alternating A B A B (A B C A B C when two numpy programs share a case),
// and prints median wall times, ratios and the acceptance targets.
//
// Plain ESM JavaScript for Node 20, no dependencies. It builds nothing: `npm
// run bench` has already run `npm run build`.

import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const DATA = path.join(BENCH_DIR, 'data');
const CLI = path.join(ROOT, 'bin', 'rank-models.js');
const NUMPY_REF = path.join(BENCH_DIR, 'numpy_ref.py');
const MAKE_DATA = path.join(BENCH_DIR, 'make_data.py');
const PYTHON = process.env.PYTHON || 'python3';
const TIME_BIN = '/usr/bin/time';

/** The OpenBLAS variables removed from the numpy children's environment only. */
const OPENBLAS_VARS = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'];
/** Relative tolerance for rank-models vs numpy values. */
const VALUE_RTOL = 1e-6;

const FEATURE_CASES = [
  { n: 5000, d: 512, c: 50 },
  { n: 20000, d: 2048, c: 200 },
  { n: 1000, d: 4096, c: 10 },
];
const PROBS_CASE = { n: 20000, cs: 1000, c: 200 };

/**
 * Scorers of issue 15 with their numpy program (bench/numpy_ref.py). The
 * "large" ones run on every feature case; kNN and N-LEEP (quadratic in N, or
 * EM over 5·C components) only on the smallest, where their target applies.
 */
const LARGE_SCORERS = ['hscore', 'hscore-shrink', 'transrate', 'gbc', 'sfda', 'ridge-loo'];
const SMALL_SCORERS = ['knn', 'nleep'];

/**
 * Acceptance targets of issue 6 on rank-models / numpy (whole-process wall
 * time). `max`: ratio ≤ max; `below`: ratio < below (strictly faster).
 */
function targetFor(group, numpyProgram, key) {
  if (group === 'logme' && numpyProgram === 'logme-best') {
    if (key === '20000x2048x200') return { max: 1.6 };
    if (key === '1000x4096x10') return { max: 2.0 };
  }
  if (group === 'logme' && numpyProgram === 'logme-official' && key === '20000x2048x200') return { below: 1.0 };
  if (group === 'disco' && key === '20000x2048x200') return { max: 3.0 };
  if (group === 'leep-nce') return { max: 1.5 };
  // Issue 15: the nine literature scorers, each against its numpy program.
  if (LARGE_SCORERS.includes(group) && key === '20000x2048x200') return { max: 2.0 };
  if (SMALL_SCORERS.includes(group) && key === '5000x512x50') return { max: 2.0 };
  // `-s all` against rank-models running only the slowest scorer in it.
  if (group === 'all' && numpyProgram === 'slowest single scorer') return { max: 1.5 };
  return null;
}

// ---------------------------------------------------------------------------
// command line
// ---------------------------------------------------------------------------

const USAGE = `usage: node bench/run.js [options]   (npm run bench -- [options])

  --reps N        timed runs per program and case (default 3); medians are reported
  --quick         only the smallest feature case (5000x512x50) plus the one
                  probabilities case
  --only LIST     comma-separated groups: logme, disco, leep-nce, hscore, hscore-shrink, transrate, gbc, sfda, ridge-loo, knn,
                  nleep, all (-s all against its slowest scorer) (default: every group)
  --case LIST     comma-separated case keys only, e.g. 20000x2048x200 or P20000x1000x200
  --timeout S     kill a run after S seconds (default 900)
  --settle S      before each run, wait up to S seconds (default 30; 0 = never)
                  until other processes use less than --busy CPUs (Linux /proc/stat);
                  after two fruitless waits in a row, 5 s until it is calm again
  --busy X        that threshold, in CPUs (default 0.3)
  --no-rss        do not wrap the runs in ${TIME_BIN} (no peak-RSS column)
  --strict        exit 1 when a measured target fails
  --json FILE     also write the raw results there (default bench/data/results.json)
  -h, --help      this text`;

function parseArgs(argv) {
  const o = { reps: 3, quick: false, only: null, timeout: 900, rss: true, strict: false, json: path.join(DATA, 'results.json'), settle: 30, busyThreshold: 0.3, cases: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--reps') o.reps = Number(value());
    else if (a.startsWith('--reps=')) o.reps = Number(a.slice(7));
    else if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = value().split(',');
    else if (a.startsWith('--only=')) o.only = a.slice(7).split(',');
    else if (a === '--timeout') o.timeout = Number(value());
    else if (a === '--no-rss') o.rss = false;
    else if (a === '--case') o.cases = value().split(',');
    else if (a === '--settle') o.settle = Number(value());
    else if (a === '--busy') o.busyThreshold = Number(value());
    else if (a === '--strict') o.strict = true;
    else if (a === '--json') o.json = path.resolve(value());
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown option ${a}\n${USAGE}`);
  }
  if (!Number.isInteger(o.reps) || o.reps < 1) fail('--reps must be a positive integer');
  if (!(o.timeout > 0)) fail('--timeout must be a positive number of seconds');
  if (!(o.settle >= 0)) fail('--settle must be a number of seconds ≥ 0');
  if (!(o.busyThreshold > 0)) fail('--busy must be a positive number of CPUs');
  const groups = ['logme', 'disco', 'leep-nce', ...LARGE_SCORERS, ...SMALL_SCORERS, 'all'];
  if (o.only) {
    o.only = o.only.map((s) => s.trim()).filter(Boolean);
    for (const g of o.only) if (!groups.includes(g)) fail(`--only: unknown group '${g}' (known: ${groups.join(', ')})`);
  }
  return o;
}

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------
// processes
// ---------------------------------------------------------------------------

function numpyEnv() {
  const env = { ...process.env };
  for (const v of OPENBLAS_VARS) delete env[v];
  return env;
}

function timeWorks() {
  try {
    accessSync(TIME_BIN, constants.X_OK);
  } catch {
    return false;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-time-'));
  try {
    const out = path.join(dir, 'rss');
    const r = spawnSync(TIME_BIN, ['-o', out, '-f', '%M', 'true'], { stdio: 'ignore' });
    return r.status === 0 && /^\d+\s*$/m.test(readFileSync(out, 'utf8'));
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Run one whole process; wall time by process.hrtime around spawn → 'close'.
 * With rss, the command runs under `/usr/bin/time -f %M -o FILE` (peak
 * resident set size in KiB, written to a file so stderr stays the child's).
 */
function runProcess(cmd, args, { env, rss, timeoutS, tmpDir }) {
  return new Promise((resolve) => {
    const rssFile = rss ? path.join(tmpDir, `rss-${process.hrtime.bigint()}`) : null;
    const [file, argv] = rss ? [TIME_BIN, ['-o', rssFile, '-f', '%M %U %S', cmd, ...args]] : [cmd, args];
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const cpu0 = cpuTimes();
    const t0 = process.hrtime.bigint();
    const child = spawn(file, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, seconds: NaN, stdout, stderr: String(err), rssKiB: null, timedOut });
    });
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu1 = cpuTimes();
      clearTimeout(timer);
      let rssKiB = null;
      let childCpu = null;
      if (rssFile && existsSync(rssFile)) {
        // GNU time prefixes "Command exited with non-zero status N" on failure: take the last line.
        const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
        const [m, u, sy] = lines[lines.length - 1].trim().split(/\s+/).map(Number);
        if (Number.isFinite(m)) rssKiB = m;
        if (Number.isFinite(u) && Number.isFinite(sy)) childCpu = u + sy;
        rmSync(rssFile, { force: true });
      }
      // CPUs used by other processes during the run: all busy CPU time on the
      // machine (/proc/stat) minus the child's own user + system time.
      let foreign = null;
      if (cpu0 && cpu1 && childCpu != null && cpu1.total > cpu0.total && seconds > 0) {
        const busyFraction = 1 - (cpu1.idle - cpu0.idle) / (cpu1.total - cpu0.total);
        foreign = Math.max(0, (busyFraction * os.cpus().length * seconds - childCpu) / seconds);
      }
      resolve({ code: code ?? (signal ? 128 : -1), seconds, stdout, stderr, rssKiB, childCpu, foreign, timedOut });
    });
  });
}

// ---------------------------------------------------------------------------
// programs
// ---------------------------------------------------------------------------

/** rank-models program; the values are read from its JSON report. */
function rankModels(label, args, scorerIds) {
  return {
    kind: 'rank-models',
    label,
    cmd: process.execPath,
    args: [CLI, ...args, '--format', 'json', '-q'],
    env: process.env,
    parse(stdout) {
      const report = JSON.parse(stdout);
      const model = report.models.find((m) => m.name === 'm') ?? report.models[0];
      const values = {};
      for (const id of scorerIds) {
        const s = model?.scores?.[id];
        if (!s || typeof s.value !== 'number') throw new Error(`no value for ${id}: ${s?.message ?? model?.message ?? 'missing'}`);
        values[id] = s.value;
      }
      return { values, inside: report.run?.duration_ms != null ? report.run.duration_ms / 1000 : null };
    },
  };
}

function numpyProgram(program, dataFile, labelsFile) {
  return {
    kind: 'numpy',
    label: program,
    cmd: PYTHON,
    args: [NUMPY_REF, program, dataFile, labelsFile],
    env: numpyEnv(),
    parse(stdout) {
      const line = stdout.trim().split('\n').pop();
      const r = JSON.parse(line);
      return { values: r.values, inside: r.seconds_inside };
    },
  };
}

function buildCases(opts) {
  const cases = [];
  const wanted = (g) => !opts.only || opts.only.includes(g);
  for (const { n, d, c } of opts.quick ? FEATURE_CASES.slice(0, 1) : FEATURE_CASES) {
    const key = `${n}x${d}x${c}`;
    const f = path.join(DATA, `f_${n}x${d}.npy`);
    const y = path.join(DATA, `y_${n}_c${c}.npy`);
    if (wanted('logme')) {
      cases.push({
        key,
        group: 'logme',
        scorerIds: ['logme'],
        a: rankModels('logme', ['--labels', y, `m=${f}`, '-s', 'logme'], ['logme']),
        bs: [numpyProgram('logme-best', f, y), numpyProgram('logme-official', f, y)],
      });
    }
    if (wanted('disco')) {
      cases.push({
        key,
        group: 'disco',
        scorerIds: ['disco'],
        a: rankModels('disco', ['--labels', y, `m=${f}`, '-s', 'disco'], ['disco']),
        bs: [numpyProgram('disco', f, y)],
      });
    }
    for (const id of [...LARGE_SCORERS, ...(key === '5000x512x50' ? SMALL_SCORERS : [])]) {
      if (!wanted(id)) continue;
      cases.push({
        key,
        group: id,
        scorerIds: [id],
        a: rankModels(id, ['--labels', y, `m=${f}`, '-s', id], [id]),
        bs: [numpyProgram(id, f, y)],
      });
    }
    if (wanted('all') && key === '5000x512x50') {
      // Every feature scorer on one model against the slowest one alone (N-LEEP
      // at this size): shared decompositions should make the rest nearly free.
      const slowest = rankModels('nleep', ['--labels', y, `m=${f}`, '-s', 'nleep'], ['nleep']);
      cases.push({
        key,
        group: 'all',
        scorerIds: ['nleep'],
        a: rankModels('all', ['--labels', y, `m=${f}`, '-s', 'all'], ['nleep']),
        bs: [{ ...slowest, kind: 'rank-models', label: 'slowest single scorer' }],
      });
    }
  }
  if (wanted('leep-nce')) {
    const { n, cs, c } = PROBS_CASE;
    const p = path.join(DATA, `p_${n}x${cs}.npy`);
    const y = path.join(DATA, `y_${n}_c${c}.npy`);
    cases.push({
      key: `P${n}x${cs}x${c}`,
      group: 'leep-nce',
      scorerIds: ['leep', 'nce'],
      a: rankModels('leep,nce', ['--labels', y, '--probs', `m=${p}`, '-s', 'leep,nce'], ['leep', 'nce']),
      bs: [numpyProgram('leep-nce', p, y)],
    });
  }
  return opts.cases ? cases.filter((k) => opts.cases.includes(k.key)) : cases;
}

// ---------------------------------------------------------------------------
// measuring
// ---------------------------------------------------------------------------

function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Aggregate CPU jiffies from /proc/stat (Linux); null elsewhere. */
function cpuTimes() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPUs kept busy by other processes over `ms` (0 … number of CPUs); null when unknown. */
async function busyCpus(ms = 250) {
  const a = cpuTimes();
  if (!a) return null;
  await sleep(ms);
  const b = cpuTimes();
  const total = b.total - a.total;
  if (!(total > 0)) return null;
  return ((total - (b.idle - a.idle)) / total) * os.cpus().length;
}

/**
 * Wait (up to maxS seconds) until other processes use less than `threshold`
 * CPUs, so that a timed run does not start on a busy machine. Returns the
 * last measured load (CPUs busy) and the seconds waited.
 */
let settleTimeouts = 0;
async function settle(threshold, maxS) {
  // After two waits in a row that ended without calm (sustained load from
  // other jobs), wait at most 5 s until the machine has been seen calm again.
  const limit = settleTimeouts >= 2 ? Math.min(maxS, 5) : maxS;
  const t0 = Date.now();
  let busy = await busyCpus();
  while (busy != null && busy > threshold && Date.now() - t0 < limit * 1000) {
    await sleep(750);
    busy = await busyCpus();
  }
  settleTimeouts = busy != null && busy > threshold ? settleTimeouts + 1 : 0;
  return { busy, waited: (Date.now() - t0) / 1000 };
}

function firstLine(s) {
  return (s.trim().split('\n').find((l) => l.trim()) ?? '').slice(0, 160);
}

function failureStatus(prog, r) {
  if (r.timedOut) return 'timed out';
  const text = `${r.stderr}\n${r.stdout}`;
  if (prog.kind === 'rank-models' && /unknown scorer|not (yet )?supported|no (features|probs)|needs? (features|probs)/i.test(text)) {
    return 'not yet supported';
  }
  return `failed (exit ${r.code})`;
}

async function measureCase(kase, opts, tmpDir, log) {
  const progs = [kase.a, ...kase.bs];
  const state = progs.map(() => ({ times: [], rss: [], inside: [], busy: [], foreign: [], cpu: [], values: null, status: 'ok', message: '' }));
  for (let rep = 0; rep < opts.reps; rep++) {
    for (let p = 0; p < progs.length; p++) {
      const prog = progs[p];
      const st = state[p];
      if (st.status !== 'ok') continue;
      const calm = opts.settle > 0 ? await settle(opts.busyThreshold, opts.settle) : { busy: null, waited: 0 };
      const r = await runProcess(prog.cmd, prog.args, { env: prog.env, rss: opts.rss, timeoutS: opts.timeout, tmpDir });
      let parsed = null;
      if (r.code === 0) {
        try {
          parsed = prog.parse(r.stdout);
        } catch (err) {
          st.status = 'bad output';
          st.message = String(err.message ?? err);
        }
      } else {
        st.status = failureStatus(prog, r);
        st.message = firstLine(r.stderr) || firstLine(r.stdout);
      }
      if (st.status !== 'ok') {
        log(`  ${kase.key} ${prog.label}: ${st.status}${st.message ? ` — ${st.message}` : ''}`);
        continue;
      }
      st.times.push(r.seconds);
      st.busy.push(calm.busy);
      st.foreign.push(r.foreign);
      st.cpu.push(r.childCpu);
      if (r.rssKiB != null) st.rss.push(r.rssKiB);
      if (parsed.inside != null) st.inside.push(parsed.inside);
      st.values ??= parsed.values;
      const notes = [];
      if (r.childCpu != null) notes.push(`cpu ${r.childCpu.toFixed(2)} s`);
      if (calm.busy != null) notes.push(`other load before ${calm.busy.toFixed(2)}${calm.waited >= 1 ? ` (waited ${calm.waited.toFixed(0)} s)` : ''}`);
      if (r.foreign != null) notes.push(`during ${r.foreign.toFixed(2)} CPUs`);
      const loadNote = notes.length ? ` [${notes.join(', ')}]` : '';
      log(`  ${kase.key} ${prog.kind === 'numpy' ? `numpy ${prog.label}` : `rank-models -s ${prog.label}`} rep ${rep + 1}/${opts.reps}: ${r.seconds.toFixed(3)} s${loadNote}`);
    }
  }
  return progs.map((prog, i) => {
    const st = state[i];
    const loud = (j) => (st.busy[j] != null && st.busy[j] > opts.busyThreshold) || (st.foreign[j] != null && st.foreign[j] > opts.busyThreshold);
    const quiet = st.times.filter((_, j) => !loud(j));
    // The statistics use the quiet runs (no other load before or during the
    // run) when there is at least one; otherwise every run, flagged.
    const used = quiet.length ? quiet : st.times;
    return {
      program: prog.label,
      kind: prog.kind,
      command: [prog.cmd === process.execPath ? 'node' : prog.cmd, ...prog.args.map((x) => (path.isAbsolute(x) && !path.relative(ROOT, x).startsWith('..') ? path.relative(ROOT, x) : x))].join(' '),
      status: st.status,
      message: st.message,
      times: st.times,
      quietTimes: quiet,
      runsUsed: used.length,
      onlyNoisy: st.times.length > 0 && quiet.length === 0,
      excludedNoisy: quiet.length > 0 && quiet.length < st.times.length,
      median: median(used),
      medianAllRuns: median(st.times),
      min: st.times.length ? Math.min(...st.times) : null,
      busyBefore: st.busy,
      foreignDuring: st.foreign,
      cpuSeconds: st.cpu,
      insideMedian: median(st.inside),
      rssMiB: st.rss.length ? Math.max(...st.rss) / 1024 : null,
      values: st.values,
    };
  });
}

function compareValues(ids, a, b) {
  if (!a || !b) return { ok: null, text: 'n/a', worst: null };
  let worst = 0;
  const bad = [];
  for (const id of ids) {
    const x = a[id];
    const y = b[id];
    if (typeof x !== 'number' || typeof y !== 'number') {
      bad.push(`${id}: missing`);
      worst = Infinity;
      continue;
    }
    const rel = Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-300);
    worst = Math.max(worst, rel);
    if (!(rel <= VALUE_RTOL)) bad.push(`${id}: rank-models ${x} numpy ${y} (rel ${rel.toExponential(1)})`);
  }
  return { ok: bad.length === 0, text: bad.length === 0 ? `ok ${worst.toExponential(0)}` : 'DISAGREE', worst, bad };
}

// ---------------------------------------------------------------------------
// reporting
// ---------------------------------------------------------------------------

function fmt(x, digits = 3) {
  return x == null || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

function targetText(t) {
  if (!t) return '—';
  return t.max != null ? `≤ ${t.max}×` : `< ${t.below}×`;
}

function verdict(t, ratio) {
  if (!t || ratio == null) return '—';
  const ok = t.max != null ? ratio <= t.max : ratio < t.below;
  return ok ? 'PASS' : 'FAIL';
}

function table(headers, rows, rightAlign) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (rightAlign.has(i) ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

function blasInfo(env) {
  const script = [
    'import json, numpy',
    'info = {"numpy": numpy.__version__}',
    'try:',
    '    import threadpoolctl',
    '    info["threadpoolctl"] = threadpoolctl.__version__',
    '    info["pools"] = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")} for p in threadpoolctl.threadpool_info()]',
    'except ImportError:',
    '    info["threadpoolctl"] = None',
    '    try:',
    '        cfg = numpy.show_config(mode="dicts")',
    '        info["build"] = cfg.get("Build Dependencies", {}).get("blas", {})',
    '    except Exception as e:',
    '        info["build"] = str(e)',
    'print(json.dumps(info))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script], { env, encoding: 'utf8' });
  if (r.status !== 0) return { error: firstLine(r.stderr) || `exit ${r.status}` };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    return { error: firstLine(r.stdout) };
  }
}

function describeBlas(info) {
  if (info.error) return [`numpy BLAS: unknown (${info.error})`];
  const lines = [`numpy ${info.numpy}`];
  if (!info.threadpoolctl) {
    lines.push(`threadpoolctl not installed (python3 -m pip install threadpoolctl); build-time BLAS: ${JSON.stringify(info.build)}`);
    return lines;
  }
  for (const p of info.pools) {
    lines.push(
      `${p.internal_api} ${p.version}: core type (kernel) ${p.architecture ?? '?'}, ${p.num_threads} threads (${p.threading_layer ?? '?'}) — ${path.basename(p.filepath ?? '')}`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = process.hrtime.bigint();
  const log = (s) => console.error(s);

  if (!existsSync(path.join(ROOT, 'dist'))) fail('dist/ is missing: run `npm run build` first (npm run bench does)');
  mkdirSync(DATA, { recursive: true });

  // 1. data
  log(`bench: ensuring data in ${path.relative(ROOT, DATA)}/ (${PYTHON} ${path.relative(ROOT, MAKE_DATA)}${opts.quick ? ' --quick' : ''})`);
  const md = spawnSync(PYTHON, [MAKE_DATA, ...(opts.quick ? ['--quick'] : [])], { stdio: 'inherit', env: numpyEnv() });
  if (md.status !== 0) fail(`make_data.py failed (exit ${md.status})`);

  // 2. environment
  const parentBlas = OPENBLAS_VARS.filter((v) => process.env[v] != null).map((v) => `${v}=${process.env[v]}`);
  const npInfo = blasInfo(numpyEnv());
  const rss = opts.rss && timeWorks();
  const header = [
    `rank-models bench — ${new Date().toISOString()}`,
    `host: ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length} logical CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}`,
    `numpy children: ${OPENBLAS_VARS.join(' and ')} unset in their environment only (${parentBlas.length ? `the parent has ${parentBlas.join(' ')}` : 'neither is set in the parent environment'}); rank-models children: environment unchanged`,
    ...describeBlas(npInfo).map((l) => `numpy BLAS (as run): ${l}`),
  ];
  if (parentBlas.length) {
    for (const l of describeBlas(blasInfo(process.env)).slice(1)) header.push(`numpy BLAS (with the parent's ${parentBlas.join(' ')}, not used): ${l}`);
  }
  const load0 = os.loadavg();
  const busy0 = await busyCpus(500);
  header.push(
    `load at start: ${busy0 == null ? '' : `${busy0.toFixed(2)} CPUs busy now; `}load average ${load0.map((x) => x.toFixed(2)).join(' ')} (1/5/15 min)` +
      (busy0 != null && busy0 > opts.busyThreshold ? ' — the machine is busy: each run waits for it to calm down (--settle)' : ''),
    `runs: ${opts.reps} per program and case, whole processes alternating A B A B (A B C with two numpy programs); wall time spawn → exit`,
    `peak RSS: ${rss ? `${TIME_BIN} -f %M (max over runs)` : opts.rss ? `unavailable (${TIME_BIN} missing or not GNU time)` : 'disabled (--no-rss)'}`,
  );

  // 3. measure
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'rank-models-bench-'));
  const results = [];
  try {
    for (const kase of buildCases(opts)) {
      log(`bench: ${kase.group} ${kase.key}`);
      const runs = await measureCase(kase, { ...opts, rss }, tmpDir, log);
      results.push({ ...kase, runs });
    }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }

  // 4. report
  const rows = [];
  const warnings = [];
  const records = [];
  let failedTargets = 0;
  let anyExcluded = false;
  let anyOnlyNoisy = false;
  for (const kase of results) {
    const [a, ...bs] = kase.runs;
    for (const b of bs) {
      const target = targetFor(kase.group, b.program, kase.key);
      const ratio = a.status === 'ok' && b.status === 'ok' ? a.median / b.median : null;
      const ratioMin = a.status === 'ok' && b.status === 'ok' ? a.min / b.min : null;
      const excluded = a.excludedNoisy || b.excludedNoisy;
      const onlyNoisy = a.onlyNoisy || b.onlyNoisy;
      const cmp = compareValues(kase.scorerIds, a.values, b.values);
      let result = verdict(target, ratio);
      if (a.status !== 'ok') result = a.status;
      else if (b.status !== 'ok') result = `numpy ${b.status}`;
      if (result === 'FAIL') failedTargets++;
      const plain = result === 'PASS' || result === 'FAIL' || result === '—';
      if (plain && onlyNoisy) result += '!';
      else if (plain && excluded) result += '*';
      if (onlyNoisy) anyOnlyNoisy = true;
      else if (excluded) anyExcluded = true;
      if (cmp.ok === false) warnings.push(`WARNING: ${kase.group} ${kase.key} vs ${b.program}: values disagree — ${cmp.bad.join('; ')}`);
      if (a.status !== 'ok' && a.message) warnings.push(`note: ${kase.group} ${kase.key} rank-models: ${a.status} — ${a.message}`);
      if (b.status !== 'ok' && b.message) warnings.push(`note: ${kase.group} ${kase.key} ${b.program}: ${b.status} — ${b.message}`);
      rows.push([
        kase.key,
        kase.scorerIds.join('+'),
        b.program,
        a.status === 'ok' ? fmt(a.median) : a.status,
        b.status === 'ok' ? fmt(b.median) : b.status,
        ratio == null ? '—' : `${ratio.toFixed(2)}×`,
        a.status === 'ok' && b.status === 'ok' ? `${a.runsUsed}/${b.runsUsed}` : '—',
        ratioMin == null ? '—' : `${ratioMin.toFixed(2)}×`,
        targetText(target),
        result,
        `${fmt(a.insideMedian, 2)} / ${fmt(b.insideMedian, 2)}`,
        `${fmt(a.rssMiB, 0)} / ${fmt(b.rssMiB, 0)}`,
        cmp.text,
      ]);
      records.push({ case: kase.key, group: kase.group, numpy_program: b.program, rank_models: a, numpy: b, ratio, ratio_of_minima: ratioMin, target, result, excluded_noisy_runs: excluded, only_noisy_runs: onlyNoisy, values_check: cmp });
    }
  }

  const out = [
    '',
    ...header,
    '',
    table(
      ['case (NxDxC)', 'scorer', 'numpy program', 'rank-models s', 'numpy s', 'ratio', 'runs rm/np', 'min ratio', 'target', 'result', 'inside s rm/np', 'peak RSS MiB rm/np', 'values'],
      rows,
      new Set([3, 4, 5, 6, 7, 10, 11]),
    ),
    '',
    'rank-models s, numpy s = median wall time of whole processes over the quiet runs (no other load before or during the run; all runs if none was quiet); "runs rm/np" = how many runs each median uses.',
    'ratio = rank-models median / numpy median; below 1 means rank-models is faster; the target applies to it.',
    'min ratio = fastest rank-models run / fastest numpy run (less sensitive to other load on the machine).',
    'inside = time reported by the program itself (rank-models: run.duration_ms; numpy: after `import numpy` to the result).',
    `values: relative difference between the rank-models and numpy values (tolerance ${VALUE_RTOL.toExponential(0)}).`,
    ...(anyExcluded
      ? [`* runs during which other processes used more than ${opts.busyThreshold} CPUs were left out of the medians (per-run figures on stderr and in the JSON).`]
      : []),
    ...(anyOnlyNoisy
      ? [`! no run of one side was quiet: its median includes load from other processes and is not reliable; rerun on an idle machine.`]
      : []),
    ...(warnings.length ? ['', ...warnings] : []),
    '',
    `load average at end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (includes the bench's own runs)`,
    `total bench duration: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`,
  ];
  console.log(out.join('\n'));

  try {
    mkdirSync(path.dirname(opts.json), { recursive: true });
    writeFileSync(opts.json, JSON.stringify({ header, options: { ...opts, rss }, numpy_blas: npInfo, records }, null, 2) + '\n');
    log(`bench: raw results in ${path.relative(process.cwd(), opts.json) || opts.json}`);
  } catch (err) {
    log(`bench: could not write ${opts.json}: ${err.message}`);
  }
  if (opts.strict && failedTargets > 0) process.exit(1);
}

main().catch((err) => {
  console.error(err?.stack ?? String(err));
  process.exit(70);
});
