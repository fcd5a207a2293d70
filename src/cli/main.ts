/**
 * The command line: a short driver of the stages plan → load → check → score
 * → pool → report (docs/architecture.md). The only module that sees streams
 * and the environment; it never calls process.exit() — it returns the exit
 * code so that piped output is flushed.
 */
import { availableParallelism } from 'node:os';
import type { ScorerParams } from '../core/context.js';
import { InputError, RankModelsError, UsageError } from '../core/errors.js';
import { setLinalgBackend, setLinalgThreads, type LinalgBackend } from '../core/linalg/index.js';
import { orderModels } from '../core/pool.js';
import { poolOptions, rank, type ModelResult, type RankEvent, type RankOutput } from '../core/rank.js';
import { defaultScorers, expandSelection, type ScorerId, type ScorerInput } from '../core/scorers/index.js';
import type { LoadedArray, Targets } from '../core/types.js';
import { centreTargets, checkRegressionOffset, checkTargets, makeTargets } from '../core/validate.js';
import { describeRef, loadArray } from '../io/load.js';
import { renderCsv } from '../report/csv.js';
import { renderJson, renderNdjson } from '../report/json.js';
import { renderMarkdown } from '../report/markdown.js';
import { buildReport, hasFailures, type ModelReport, type Report } from '../report/report.js';
import { renderTable } from '../report/table.js';
import { escapeControls } from '../report/text.js';
import { ExitCode, getExitCode } from './exit-codes.js';
import { bundleFor, loadModel, type LoadContext } from './load-models.js';
import { scoreInWorkers, useModelWorkers, type ModelWorkerData } from './model-workers.js';
import type { Flags, Format } from './options.js';
import { assertNotAnInput, planOutput, writeReport, type OutputPlan } from './output.js';
import { inputFiles, plan, type Plan } from './plan.js';
import { runParams } from './params.js';
import { helpText, parseFlags, toolVersion, type OutStream, type ParamFlags } from './program.js';
import { closest } from './suggest.js';

export type { OutStream } from './program.js';

export interface CliIO {
  stdout: OutStream;
  stderr: OutStream;
  stdin?: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
  cwd: string;
}

const DEFAULT_STREAM_BYTES = 512 * 1024 * 1024;

function decideColor(flags: Flags, io: CliIO): boolean {
  if (flags.color !== undefined) return flags.color;
  const noColor = io.env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  const force = io.env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return io.stdout.isTTY === true;
}

function render(report: Report, format: Format, color: boolean): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'ndjson':
      return renderNdjson(report);
    case 'csv':
      return renderCsv(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'table':
      return renderTable(report, { color });
  }
}

function makeProgress(mode: Flags['progress'], quiet: boolean, stderr: OutStream): ((e: RankEvent) => void) | undefined {
  if (quiet || mode === 'none') return undefined;
  if (mode === 'auto' && stderr.isTTY !== true) return undefined;
  // Models may finish out of order on worker threads: count completions.
  let done = 0;
  if (mode === 'plain') {
    return (e) => {
      if (e.type === 'model-done') stderr.write(`[${++done}/${e.total}] ${escapeControls(e.name)}: ${e.status} (${(e.ms / 1000).toFixed(2)} s)\n`);
    };
  }
  return (e) => {
    if (e.type === 'model-start') stderr.write(`\r\x1b[2Kscoring ${done + 1}/${e.total}: ${escapeControls(e.name)}…`);
    else if (++done === e.total) stderr.write('\r\x1b[2K');
  };
}

async function runScorersCommand(argv: string[], io: CliIO): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write('Usage: rank-models scorers [--format json]\n\nList every scorer with its inputs, tasks, direction and citation.\n\nOptions:\n  -f, --format <format>  table (default) or json\n  --json                 same as --format json\n  -h, --help             show this help\n');
    return ExitCode.ok;
  }
  const { renderScorerList } = await import('./scorer-list.js');
  io.stdout.write(renderScorerList(argv));
  return ExitCode.ok;
}

/** Engine settings from the flags and the environment, set on every run so in-process runs never inherit them. */
function configureEngine(flags: Flags, env: CliIO['env']): { threads: number; backend: LinalgBackend; streamBytes: number; workers: 'auto' | 'always' | 'never' } {
  const threads = flags.threads ?? Math.max(1, availableParallelism());
  setLinalgThreads(threads);
  const backend = env.RANK_MODELS_BACKEND ?? 'auto';
  if (backend !== 'js' && backend !== 'wasm' && backend !== 'auto') {
    throw new UsageError(`RANK_MODELS_BACKEND: expected js, wasm or auto, found '${backend}'`);
  }
  try {
    setLinalgBackend(backend);
  } catch (err) {
    throw new UsageError(`RANK_MODELS_BACKEND=${backend}: ${(err as Error).message}`);
  }
  const workers = env.RANK_MODELS_MODEL_WORKERS ?? 'auto';
  if (workers !== 'auto' && workers !== 'always' && workers !== 'never') {
    throw new UsageError(`RANK_MODELS_MODEL_WORKERS: expected auto, always or never, found '${workers}'`);
  }
  const streamEnv = Number(env.RANK_MODELS_STREAM_BYTES);
  return { threads, backend, streamBytes: Number.isFinite(streamEnv) && streamEnv > 0 ? streamEnv : DEFAULT_STREAM_BYTES, workers };
}

/** The run's labels: `--labels`/manifest, else the first complete-model `.npz` that carries them. */
async function loadLabels(p: Plan, ctx: LoadContext): Promise<{ array: LoadedArray; where: string }> {
  if (p.labels) return { array: await loadArray(p.labels, { role: 'labels', ...ctx.stdin }), where: describeRef(p.labels) };
  for (const spec of p.models) {
    const bundle = await bundleFor(spec.features, ctx.bundles).catch(() => null);
    if (bundle?.labels) return { array: bundle.labels, where: `${spec.features!.path}#labels` };
  }
  throw new UsageError('no labels given: use --labels PATH, a manifest with a labels entry, or .npz models with a labels key');
}

/** Checks that need only the plan, so that a mistake is found before any file is read. */
async function preflight(p: Plan, flags: Flags, io: CliIO): Promise<OutputPlan | undefined> {
  if (p.models.length === 0) {
    throw new UsageError('no models given: name feature files (PATH or NAME=PATH), a directory, or --manifest FILE (see rank-models --help)');
  }
  if (flags.expectTop !== undefined && !p.models.some((m) => m.name === flags.expectTop)) {
    const guess = closest(flags.expectTop, p.models.map((m) => m.name));
    throw new UsageError(`--expect-top ${flags.expectTop}: no model of this run has that name${guess ? ` (did you mean '${guess}'?)` : ''}`);
  }
  if (!flags.out) return undefined;
  const format = flags.format ?? (flags.json ? 'json' : undefined);
  const out = await planOutput(flags.out, io.cwd, format);
  await assertNotAnInput(out, inputFiles(p));
  return out;
}

interface Scored {
  out: RankOutput;
  infos: Map<string, ModelReport['inputs']>;
  ids: ScorerId[];
  params: ScorerParams;
}

/** Loads and scores every model (on worker threads when that pays), then orders them. */
async function scoreAll(
  p: Plan,
  flags: Flags,
  paramFlags: ParamFlags,
  targets: Targets,
  ctx: LoadContext,
  engine: ReturnType<typeof configureEngine>,
  io: CliIO,
  warn: (msg: string) => void,
): Promise<Scored> {
  const parallel = useModelWorkers(p.models, engine.threads, engine.workers);
  // Sequentially, models are loaded first (their inputs decide the default scorers); on workers, the specs do.
  const loaded = [];
  if (!parallel) for (const spec of p.models) loaded.push(await loadModel(spec, ctx));
  const available = parallel
    ? p.models.map((spec) => new Set<ScorerInput>([...(spec.features ? ['features' as const] : []), ...(spec.probs ? ['probs' as const] : [])]))
    : loaded.map(({ entry: { inputs, inputErrors } }) => {
        const have = new Set<ScorerInput>();
        if (inputs.features || inputs.featureRows || inputErrors?.features) have.add('features');
        if (inputs.probs || inputErrors?.probs) have.add('probs');
        return have;
      });
  const selection = flags.scorer ?? p.scorers;
  const ids: ScorerId[] = selection ? expandSelection(selection, targets.type, available) : defaultScorers(targets.type, available);
  if (ids.length === 0) {
    throw new UsageError(`no scorer applies: the models provide ${[...new Set(available.flatMap((a) => [...a]))].join(' and ') || 'no inputs'} for a ${targets.type} task (see rank-models scorers)`);
  }
  if (flags.sortBy && !ids.includes(flags.sortBy as ScorerId)) {
    throw new UsageError(`--sort-by ${flags.sortBy}: that scorer is not selected (selected: ${ids.join(', ')})`);
  }
  const params = runParams(ids, paramFlags, p.params, warn);
  const sortBy = flags.sortBy as ScorerId | undefined;
  const onEvent = makeProgress(flags.progress, flags.quiet, io.stderr);
  if (!parallel) {
    const out = rank(
      loaded.map((l) => l.entry),
      targets,
      { scorers: ids, sortBy, params, onEvent },
    );
    return { out, infos: new Map(loaded.map((l) => [l.entry.name, l.info])), ids, params };
  }
  const data: ModelWorkerData = { targets, ids, params, probsKind: ctx.probsKind, streamBytes: ctx.streamBytes, labels: ctx.labels, backend: engine.backend };
  const r = await scoreInWorkers(p.models, data, engine.threads, onEvent);
  const ranking = orderModels(r.results, poolOptions(ids, sortBy));
  const position = new Map(ranking.order.map((name, i) => [name, i]));
  const out = { models: [...r.results].sort((a, b) => position.get(a.name)! - position.get(b.name)!), ranking };
  return { out, infos: new Map(p.models.map((spec, i) => [spec.name, r.infos[i]])), ids, params };
}

/**
 * When no model could be scored because every one disagrees with the labels
 * on the number of rows, the labels file is the likelier culprit: say so.
 */
function assertLabelsFit(models: readonly ModelResult[], n: number, labelsWhere: string): void {
  if (models.length === 0 || !models.every((m) => m.status === 'error' && m.rowsFound !== undefined)) return;
  const found = models.slice(0, 4).map((m) => `${m.name}: ${m.rowsFound}`).join(', ');
  throw new InputError(
    `the labels have ${n} rows, but every model has a different number of rows (${found}${models.length > 4 ? ', …' : ''}); are these the labels of these features?`,
    labelsWhere,
  );
}

function printDiagnostics(report: Report, warn: (msg: string) => void, stderr: OutStream): void {
  const show = escapeControls;
  for (const m of report.models) {
    for (const w of m.warnings) warn(`${show(m.name)}: ${show(w)}`);
    for (const [id, c] of Object.entries(m.scores)) if (c && c.value !== null) for (const w of c.warnings) warn(`${show(m.name)} · ${id}: ${show(w)}`);
  }
  for (const m of report.models) {
    if (m.status === 'error') stderr.write(`error: ${show(m.name)}: ${show(m.message ?? '')}\n`);
    else for (const [id, c] of Object.entries(m.scores)) if (c && c.value === null && c.status === 'error') stderr.write(`error: ${show(m.name)} · ${id}: ${show(c.message)}\n`);
  }
}

/** The CI gates and `--best` on a tie; every failed gate is reported, exit 4 if any failed. */
function gates(report: Report, flags: Flags, stderr: OutStream): boolean {
  const { best, tie, margin } = report.ranking;
  const failures: string[] = [];
  if (flags.best && tie.length > 0) failures.push(`--best: ${tie.map(escapeControls).join(', ')} tie for first; there is no single best model`);
  if (flags.expectTop !== undefined) {
    if (tie.includes(flags.expectTop)) {
      failures.push(`--expect-top: '${escapeControls(flags.expectTop)}' ties for first with ${tie.filter((n) => n !== flags.expectTop).map(escapeControls).join(', ')}`);
    } else if (best !== flags.expectTop) {
      failures.push(`--expect-top: expected '${escapeControls(flags.expectTop)}' to rank first, found '${escapeControls(best ?? '')}'`);
    }
  }
  if (flags.minMargin !== undefined && (margin ?? 0) < flags.minMargin) {
    failures.push(`--min-margin: margin ${margin ?? 'n/a'}${tie.length > 0 ? ' (a tie for first)' : ''} is below ${flags.minMargin}`);
  }
  for (const f of failures) stderr.write(`gate failed: ${f}\n`);
  return failures.length === 0;
}

async function runRank(argv: string[], io: CliIO): Promise<number> {
  const started = new Date();
  const t0 = globalThis.performance.now();
  const parsed = parseFlags(argv, io);
  if (parsed === null) return ExitCode.ok;
  const { flags, args } = parsed;
  const warn = (msg: string): void => {
    if (!flags.quiet) io.stderr.write(`warning: ${msg}\n`);
  };

  const p = await plan(args, flags, io.cwd);
  if (!flags.quiet) for (const note of p.notes) io.stderr.write(`note: ${escapeControls(note)}\n`);
  const output = await preflight(p, flags, io);
  const engine = configureEngine(flags, io.env);
  const ctx: LoadContext = { probsKind: flags.probsKind, stdin: io.stdin ? { stdin: io.stdin } : {}, bundles: new Map(), streamBytes: engine.streamBytes };
  ctx.labels = await loadLabels(p, ctx);
  const labelsWhere = ctx.labels.where;
  const taskOption = flags.task !== 'auto' ? flags.task : (p.task ?? 'auto');
  let targets: Targets = makeTargets(ctx.labels.array, taskOption, labelsWhere);
  const runWarnings = checkTargets(targets, labelsWhere);
  if (targets.type === 'regression' && flags.centerTargets) targets = centreTargets(targets);
  else if (targets.type === 'regression') runWarnings.push(...checkRegressionOffset(targets));
  runWarnings.forEach((w) => warn(`${escapeControls(labelsWhere)}: ${w}`));

  const { out, infos, ids, params } = await scoreAll(p, flags, parsed.params, targets, ctx, engine, io, warn);
  const report = buildReport(out, {
    toolVersion: toolVersion(),
    startedAt: started,
    durationMs: globalThis.performance.now() - t0,
    argv,
    targets,
    taskDecidedBy: taskOption === 'auto' ? 'auto' : 'user',
    centredTargets: targets.type === 'regression' && flags.centerTargets,
    labelsSource: labelsWhere,
    scorerIds: ids,
    inputs: infos,
    params,
    warnings: runWarnings,
  });
  printDiagnostics(report, warn, io.stderr);
  assertLabelsFit(out.models, report.task.n_samples, labelsWhere);

  // A run that ranks nothing writes nothing: an existing -o file stays as it was.
  if (report.ranking.best === null) {
    io.stderr.write('error: no model could be ranked\n');
    return ExitCode.input;
  }
  const format: Format = output?.format ?? flags.format ?? (flags.json ? 'json' : 'table');
  if (flags.best) io.stdout.write(`${(report.ranking.tie.length > 0 ? report.ranking.tie : [report.ranking.best]).join('\n')}\n`);
  if (output) {
    await writeReport(output, render(report, format, false));
    if (!flags.quiet) io.stderr.write(`wrote ${output.shown}\n`);
  } else if (!flags.best) {
    io.stdout.write(render(report, format, format === 'table' && decideColor(flags, io)));
  }
  if (!gates(report, flags, io.stderr)) return ExitCode.gate;
  return hasFailures(report) ? ExitCode.partial : ExitCode.ok;
}

/** Entry point: returns the exit code; never throws, never exits the process. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    if (argv[0] === 'scorers') return await runScorersCommand(argv.slice(1), io);
    if (argv[0] === 'help') {
      if (argv[1] === 'scorers') return await runScorersCommand(['--help'], io);
      io.stdout.write(helpText());
      return ExitCode.ok;
    }
    return await runRank(argv[0] === 'rank' ? argv.slice(1) : argv, io);
  } catch (err) {
    const code = getExitCode(err);
    if (err instanceof RankModelsError) {
      io.stderr.write(`error: ${err.message.split('\n').map(escapeControls).join('\n')}\n`);
    } else {
      io.stderr.write(`internal error: ${(err as Error)?.message ?? String(err)} (a bug: please report it; rerun with --debug for the stack)\n`);
      if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    }
    return code;
  }
}
