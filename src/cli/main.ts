/**
 * The command line: parse flags (a fresh commander Command per call), gather
 * models and labels, load, rank, render. The only module that sees streams
 * and the environment; it never calls process.exit() — it returns the exit
 * code so that piped output is flushed.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { ScorerParams } from '../core/context.js';
import { InputError, RankModelsError, UsageError } from '../core/errors.js';
import { setLinalgBackend, setLinalgThreads, type LinalgBackend } from '../core/linalg/index.js';
import { orderModels, rank, type RankEvent, type RankOutput } from '../core/rank.js';
import { DISCO_DEFAULTS } from '../core/scorers/disco.js';
import { coreScorerIds, defaultScorers, scorers, scorerIds, type ScorerId, type ScorerInput } from '../core/scorers/index.js';
import type { LoadedArray, Targets } from '../core/types.js';
import { checkTargets, makeTargets } from '../core/validate.js';
import { MODEL_EXTENSIONS, describeRef, expandDirectory, loadArray, parseRef, type InputRef } from '../io/load.js';
import { renderCsv } from '../report/csv.js';
import { renderJson, renderNdjson } from '../report/json.js';
import { renderMarkdown } from '../report/markdown.js';
import { buildReport, hasFailures, type ModelReport, type Report } from '../report/report.js';
import { renderTable } from '../report/table.js';
import { ExitCode, getExitCode } from './exit-codes.js';
import { bundleFor, loadModel, type LoadContext, type ModelSpec } from './load-models.js';
import { scoreInWorkers, useModelWorkers, type ModelWorkerData } from './model-workers.js';
import { FORMATS, TASKS, flagsSchema, manifestSchema, parseOrThrow, type Flags, type Format, type Manifest, type ManifestRef } from './options.js';

export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliIO {
  stdout: OutStream;
  stderr: OutStream;
  stdin?: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
  cwd: string;
}

const FLAG_NAMES: Record<string, string> = {
  sortBy: '--sort-by',
  probs: '--probs',
  probsKind: '--probs-kind',
  expectTop: '--expect-top',
  minMargin: '--min-margin',
  scorer: '--scorer',
  format: '--format',
  task: '--task',
  progress: '--progress',
  threads: '--threads',
  discoGroups: '--disco-groups',
  discoComponents: '--disco-components',
  discoRescale: '--disco-rescale',
};

const DEFAULT_STREAM_BYTES = 512 * 1024 * 1024;

let version: string | undefined;
function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}


interface Plan {
  models: ModelSpec[];
  labels?: InputRef;
  task?: (typeof TASKS)[number];
  scorers?: ScorerId[];
}

function refFromManifest(r: ManifestRef, base: string): InputRef {
  if (typeof r === 'string') return parseRef(r, base);
  const selector = r.column ?? r.key;
  const p = path.resolve(base, r.path);
  return selector ? { path: p, selector } : { path: p };
}

async function readManifest(file: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === 'ENOENT' ? 'manifest not found' : `cannot read manifest (${code})`}`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseOrThrow(manifestSchema, raw, `${file}: `);
}

function stem(p: string): string {
  const base = path.basename(p.split('#')[0]);
  const dot = base.indexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/**
 * In a directory, `NAME_logits.npy` or `NAME_probs.npy` beside `NAME.npy` is
 * that model's source-head output, not a model of its own.
 */
function pairSourceOutputs(files: string[]): { name: string; features?: InputRef; probs?: InputRef }[] {
  const byStem = new Map(files.map((f) => [stem(f), f]));
  const heads = new Map<string, string>();
  for (const [s, f] of byStem) {
    const m = /^(.*)_(logits|probs)$/.exec(s);
    if (m && byStem.has(m[1])) heads.set(m[1], f);
  }
  const attached = new Set(heads.values());
  return [...byStem]
    .filter(([, f]) => !attached.has(f))
    .map(([name, f]) => {
      const head = heads.get(name);
      return head ? { name, features: { path: f }, probs: { path: head } } : { name, features: { path: f } };
    });
}

/** Turns positional MODEL arguments and the manifest into one list of model specs. */
async function plan(args: string[], flags: Flags, cwd: string): Promise<Plan> {
  const out: Plan = { models: [] };
  const manifests = flags.manifest ? [flags.manifest] : [];
  const positional: string[] = [];
  for (const a of args) (/\.(json|ya?ml)$/i.test(a) && !a.includes('=') ? manifests : positional).push(a);
  if (manifests.length > 1) throw new UsageError(`give one manifest, found ${manifests.length}: ${manifests.join(', ')}`);

  if (manifests.length === 1) {
    const file = path.resolve(cwd, manifests[0]);
    const m = await readManifest(file);
    const base = path.dirname(file);
    if (m.labels) out.labels = refFromManifest(m.labels, base);
    if (m.task) out.task = m.task;
    if (m.scorers) out.scorers = m.scorers as ScorerId[];
    m.models.forEach((model, i) => {
      const spec: ModelSpec = { name: model.name, origin: `${manifests[0]}: models[${i}]` };
      if (model.features) spec.features = refFromManifest(model.features, base);
      if (model.probs) spec.probs = refFromManifest(model.probs, base);
      out.models.push(spec);
    });
  }

  const labelsPath = flags.labels ? parseRef(flags.labels, cwd) : out.labels;
  for (const a of positional) {
    const eq = a.indexOf('=');
    const named = eq > 0 && !a.slice(0, eq).includes('/');
    const name = named ? a.slice(0, eq) : undefined;
    const target = named ? a.slice(eq + 1) : a;
    if (!target) throw new UsageError(`model '${a}': expected NAME=PATH, found an empty path`);
    const ref = parseRef(target, cwd);
    const files = ref.selector ? null : await expandDirectory(ref.path);
    if (files) {
      if (name) throw new UsageError(`${a}: NAME=PATH takes a file, not a directory`);
      const chosen = files.filter((f) => f !== labelsPath?.path);
      const models = pairSourceOutputs(chosen);
      if (models.length === 0) throw new UsageError(`${target}: directory holds no model files (${MODEL_EXTENSIONS.join(' ')})`);
      for (const m of models) out.models.push({ ...m, origin: target });
    } else {
      out.models.push({ name: name ?? (target === '-' ? 'stdin' : stem(target)), features: ref, origin: a });
    }
  }
  if (flags.labels) out.labels = labelsPath;

  for (const spec of flags.probs) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    const ref = parseRef(spec.slice(eq + 1), cwd);
    const model = out.models.find((m) => m.name === name);
    if (model) model.probs = ref;
    else out.models.push({ name, probs: ref, origin: `--probs ${spec}` });
  }

  const seen = new Set<string>();
  for (const m of out.models) {
    if (seen.has(m.name)) {
      throw new UsageError(`two models are named '${m.name}'; name them with NAME=PATH or distinct manifest names`);
    }
    seen.add(m.name);
  }
  return out;
}

function decideColor(flags: Flags, io: CliIO): boolean {
  if (flags.color !== undefined) return flags.color;
  const noColor = io.env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  const force = io.env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return io.stdout.isTTY === true;
}

function formatFromExtension(file: string): Format | undefined {
  const ext = path.extname(file).toLowerCase();
  const map: Record<string, Format> = { '.json': 'json', '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.csv': 'csv', '.md': 'markdown', '.txt': 'table' };
  return map[ext];
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
      if (e.type === 'model-done') stderr.write(`[${++done}/${e.total}] ${e.name}: ${e.status} (${(e.ms / 1000).toFixed(2)} s)\n`);
    };
  }
  return (e) => {
    if (e.type === 'model-start') stderr.write(`\r\x1b[2Kscoring ${done + 1}/${e.total}: ${e.name}…`);
    else if (++done === e.total) stderr.write('\r\x1b[2K');
  };
}

function buildProgram(io: CliIO): Command {
  const program = new Command('rank-models');
  program
    .description('Rank pre-trained models for transfer learning from their extracted features.')
    .usage('[rank] [options] [MODEL...]')
    .argument('[MODEL...]', 'PATH or NAME=PATH of a feature file, a directory of them, or a manifest (.json/.yaml)')
    .option('--labels <path>', 'target labels (PATH or PATH#column)')
    .option('--probs <name=path>', "a model's source-head probabilities or logits (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .addOption(new Option('--probs-kind <kind>', 'treat --probs files as probabilities or logits').choices(['auto', 'probs', 'logits']).default('auto'))
    .option('-m, --manifest <file>', 'JSON or YAML manifest naming models and labels')
    .addOption(new Option('--task <type>', 'task type').choices(TASKS).default('auto'))
    .option('-s, --scorer <ids>', `comma-separated scorer ids (${scorerIds.join(', ')})`)
    .option('--sort-by <id>', 'order by one scorer instead of the mean of per-scorer ranks')
    .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS))
    .option('--json', 'same as --format json')
    .option('-o, --out <file>', 'write the report to FILE (format from its extension unless --format is given)')
    .option('--best', "print only the best model's name")
    .option('-q, --quiet', 'print only the result and errors')
    .option('--color', 'force colour in the table')
    .option('--no-color', 'never colour the table')
    .addOption(new Option('--progress <mode>', 'progress on stderr').choices(['auto', 'plain', 'none']).default('auto'))
    .option('--expect-top <name>', 'CI gate: exit 4 unless NAME ranks first')
    .option('--min-margin <x>', 'CI gate: exit 4 unless the best model leads by at least X on the ordering key')
    .option('--disco-groups <G>', `DISCO: number of spectral groups (default ${DISCO_DEFAULTS.groups})`)
    .option('--disco-components <k>', `DISCO: PCA components before grouping (default ${DISCO_DEFAULTS.components})`)
    .addOption(new Option('--disco-rescale <mode>', 'DISCO: rescale features to unit mean variance first').choices(['none', 'unit-variance']))
    .option('--threads <n>', 'worker threads for the large linear-algebra kernels (default: all cores)')
    .option('--debug', 'print stack traces of internal errors')
    .version(toolVersion(), '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .addHelpText(
      'after',
      '\nCommands:\n  scorers [--format json]  list the available scorers\n\n' +
        'Examples:\n  rank-models resnet50=feats/r50.npy vit=feats/vit.npy --labels y.npy\n' +
        '  rank-models --manifest models.yaml --format json | jq .ranking.best\n' +
        '  BEST=$(rank-models feats/ --labels y.npy --best)\n',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => undefined,
    })
    .allowExcessArguments(true);
  return program;
}

async function runScorersCommand(argv: string[], io: CliIO): Promise<number> {
  const json = argv.includes('--json') || argv.some((a, i) => (a === '--format' || a === '-f') && argv[i + 1] === 'json') || argv.includes('--format=json');
  const list = scorerIds.map((id) => ({
    id,
    title: scorers[id].title,
    inputs: [...scorers[id].inputs],
    tasks: [...scorers[id].tasks],
    higher_is_better: scorers[id].higherIsBetter,
    default: coreScorerIds.includes(id),
    description: scorers[id].description,
    citation: scorers[id].citation,
  }));
  if (json) {
    io.stdout.write(JSON.stringify(list, null, 2) + '\n');
    return ExitCode.ok;
  }
  for (const s of list) {
    io.stdout.write(`${s.id.padEnd(8)} ${s.title} (${s.higher_is_better ? 'higher' : 'lower'} is better)\n`);
    io.stdout.write(`         inputs: ${s.inputs.join(', ')} · tasks: ${s.tasks.join(', ')}${s.default ? ' · default' : ''}\n`);
    io.stdout.write(`         ${s.description}\n         ${s.citation}\n`);
  }
  return ExitCode.ok;
}

async function runRank(argv: string[], io: CliIO): Promise<number> {
  const started = new Date();
  const t0 = globalThis.performance.now();
  const program = buildProgram(io);
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      throw new UsageError(`${err.message.replace(/^error: /, '')}\n(see rank-models --help)`);
    }
    throw err;
  }
  const flags = parseOrThrow(flagsSchema, program.opts(), '', FLAG_NAMES);
  const args = program.args;
  const warn = (msg: string): void => {
    if (!flags.quiet) io.stderr.write(`warning: ${msg}\n`);
  };

  const p = await plan(args, flags, io.cwd);
  if (p.models.length === 0) {
    throw new UsageError('no models given: name feature files (PATH or NAME=PATH), a directory, or --manifest FILE (see rank-models --help)');
  }
  // Set on every run (not only when given) so that in-process runs never inherit an earlier run's settings.
  setLinalgThreads(flags.threads ?? Math.max(1, availableParallelism()));

  const backend = io.env.RANK_MODELS_BACKEND ?? 'auto';
  if (backend !== 'js' && backend !== 'wasm' && backend !== 'auto') {
    throw new UsageError(`RANK_MODELS_BACKEND: expected js, wasm or auto, found '${backend}'`);
  }
  try {
    setLinalgBackend(backend);
  } catch (err) {
    throw new UsageError(`RANK_MODELS_BACKEND=${backend}: ${(err as Error).message}`);
  }
  const streamEnv = Number(io.env.RANK_MODELS_STREAM_BYTES);
  const ctx: LoadContext = {
    probsKind: flags.probsKind,
    stdin: io.stdin ? { stdin: io.stdin } : {},
    bundles: new Map(),
    streamBytes: Number.isFinite(streamEnv) && streamEnv > 0 ? streamEnv : DEFAULT_STREAM_BYTES,
  };
  let labelArray: LoadedArray | undefined;
  let labelsWhere = '';
  if (p.labels) {
    labelsWhere = describeRef(p.labels);
    labelArray = await loadArray(p.labels, { role: 'labels', ...ctx.stdin });
  } else {
    // Complete-model .npz files carry their labels: the first one found serves the run.
    for (const spec of p.models) {
      const bundle = await bundleFor(spec.features, ctx.bundles).catch(() => null);
      if (bundle?.labels) {
        labelArray = bundle.labels;
        labelsWhere = `${spec.features!.path}#labels`;
        break;
      }
    }
    if (!labelArray) throw new UsageError('no labels given: use --labels PATH, a manifest with a labels entry, or .npz models with a labels key');
  }
  ctx.labels = { array: labelArray, where: labelsWhere };
  const taskOption = flags.task !== 'auto' ? flags.task : (p.task ?? 'auto');
  const targets: Targets = makeTargets(labelArray, taskOption, labelsWhere);
  const runWarnings = checkTargets(targets, labelsWhere);
  runWarnings.forEach((w) => warn(`${labelsWhere}: ${w}`));

  const threads = flags.threads ?? Math.max(1, availableParallelism());
  const workersMode = io.env.RANK_MODELS_MODEL_WORKERS ?? 'auto';
  if (workersMode !== 'auto' && workersMode !== 'always' && workersMode !== 'never') {
    throw new UsageError(`RANK_MODELS_MODEL_WORKERS: expected auto, always or never, found '${workersMode}'`);
  }
  const parallel = useModelWorkers(p.models, threads, workersMode);
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
  const ids: ScorerId[] = flags.scorer ? (flags.scorer as ScorerId[]) : (p.scorers ?? defaultScorers(targets.type, available));
  if (ids.length === 0) {
    throw new UsageError(`no scorer applies: the models provide ${[...new Set(available.flatMap((a) => [...a]))].join(' and ') || 'no inputs'} for a ${targets.type} task (see rank-models scorers)`);
  }
  if (flags.sortBy && !ids.includes(flags.sortBy as ScorerId)) {
    throw new UsageError(`--sort-by ${flags.sortBy}: that scorer is not selected (selected: ${ids.join(', ')})`);
  }
  const params: ScorerParams = {
    disco: {
      groups: flags.discoGroups ?? DISCO_DEFAULTS.groups,
      components: flags.discoComponents ?? DISCO_DEFAULTS.components,
      rescale: flags.discoRescale ?? DISCO_DEFAULTS.rescale,
    },
  };
  const sortBy = flags.sortBy as ScorerId | undefined;
  const onEvent = makeProgress(flags.progress, flags.quiet, io.stderr);
  let out: RankOutput;
  let infos: Map<string, ModelReport['inputs']>;
  if (parallel) {
    const data: ModelWorkerData = {
      targets,
      ids,
      params,
      probsKind: ctx.probsKind,
      streamBytes: ctx.streamBytes,
      labels: ctx.labels,
      backend: backend as LinalgBackend,
    };
    const r = await scoreInWorkers(p.models, data, threads, onEvent);
    const ranking = orderModels(r.results, ids, sortBy);
    const position = new Map(ranking.order.map((name, i) => [name, i]));
    out = { models: [...r.results].sort((a, b) => position.get(a.name)! - position.get(b.name)!), ranking };
    infos = new Map(p.models.map((spec, i) => [spec.name, r.infos[i]]));
  } else {
    infos = new Map(loaded.map((l) => [l.entry.name, l.info]));
    out = rank(
      loaded.map((l) => l.entry),
      targets,
      { scorers: ids, sortBy, params, onEvent },
    );
  }

  const report = buildReport(out, {
    toolVersion: toolVersion(),
    startedAt: started,
    durationMs: globalThis.performance.now() - t0,
    argv,
    targets,
    taskDecidedBy: taskOption === 'auto' ? 'auto' : 'user',
    labelsSource: labelsWhere,
    scorerIds: ids,
    inputs: infos,
    params,
    warnings: runWarnings,
  });

  for (const m of report.models) {
    for (const w of m.warnings) warn(`${m.name}: ${w}`);
    for (const [id, c] of Object.entries(m.scores)) if (c && c.value !== null) for (const w of c.warnings) warn(`${m.name} · ${id}: ${w}`);
  }
  for (const m of report.models) {
    if (m.status === 'error') io.stderr.write(`error: ${m.name}: ${m.message}\n`);
    else for (const [id, c] of Object.entries(m.scores)) if (c && c.value === null && c.status === 'error') io.stderr.write(`error: ${m.name} · ${id}: ${c.message}\n`);
  }

  const format: Format = flags.format ?? (flags.json ? 'json' : flags.out ? (formatFromExtension(flags.out) ?? 'table') : 'table');
  if (flags.best) {
    if (report.ranking.best !== null) io.stdout.write(`${report.ranking.best}\n`);
  }
  if (flags.out) {
    const file = path.resolve(io.cwd, flags.out);
    await mkdir(path.dirname(file), { recursive: true }).catch(() => undefined);
    try {
      await writeFile(file, render(report, format, false));
    } catch (err) {
      throw new InputError(`cannot write the report (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, file);
    }
    if (!flags.quiet) io.stderr.write(`wrote ${flags.out}\n`);
  } else if (!flags.best) {
    io.stdout.write(render(report, format, format === 'table' && decideColor(flags, io)));
  }

  if (report.ranking.best === null) return ExitCode.input;
  if (flags.expectTop !== undefined && report.ranking.best !== flags.expectTop) {
    io.stderr.write(`gate failed: expected '${flags.expectTop}' to rank first, found '${report.ranking.best}'\n`);
    return ExitCode.gate;
  }
  if (flags.minMargin !== undefined && (report.ranking.margin ?? 0) < flags.minMargin) {
    io.stderr.write(`gate failed: margin ${report.ranking.margin ?? 'n/a'} is below --min-margin ${flags.minMargin}\n`);
    return ExitCode.gate;
  }
  return hasFailures(report) ? ExitCode.partial : ExitCode.ok;
}

/** Entry point: returns the exit code; never throws, never exits the process. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    if (argv[0] === 'scorers') return await runScorersCommand(argv.slice(1), io);
    return await runRank(argv[0] === 'rank' ? argv.slice(1) : argv, io);
  } catch (err) {
    const code = getExitCode(err);
    if (err instanceof RankModelsError) {
      io.stderr.write(`error: ${err.message}\n`);
    } else {
      io.stderr.write(`internal error: ${(err as Error)?.message ?? String(err)} (a bug: please report it; rerun with --debug for the stack)\n`);
      if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    }
    return code;
  }
}
