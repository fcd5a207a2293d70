/**
 * The command-line flags: one fresh commander Command per call, parsed into
 * the zod-checked Flags of options.ts. Help and version are handled here;
 * everything else is the driver's (main.ts).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../core/errors.js';
import { scorerIds, scorers } from '../core/scorers/index.js';
import { describeDomain, paramFlag } from '../core/scorers/params.js';
import { FORMATS, TASKS, flagsSchema, parseOrThrow, type Flags } from './options.js';

export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** Flag names for messages (`--min-margin: …`), by their zod key. */
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
};

/** commander's attribute name for a long flag: `--disco-groups` → `discoGroups`. */
function attributeName(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Scorer parameter flags as given on the command line: raw strings by scorer id and parameter name. */
export type ParamFlags = Record<string, Record<string, string>>;

/** One flag per declared scorer parameter (params.ts): `--<id>-<name>`. */
function addParamOptions(program: Command): void {
  for (const id of scorerIds) {
    for (const [name, spec] of Object.entries(scorers[id].params ?? {})) {
      const option = new Option(`${paramFlag(id, name)} <value>`, `${scorers[id].title}: ${spec.help} (${describeDomain(spec)}; default ${String(spec.default)})`);
      program.addOption(spec.type === 'enum' ? option.choices(spec.values) : option);
    }
  }
}

function paramFlags(opts: Record<string, unknown>): ParamFlags {
  const out: ParamFlags = {};
  for (const id of scorerIds) {
    for (const name of Object.keys(scorers[id].params ?? {})) {
      const v = opts[attributeName(paramFlag(id, name))];
      if (v !== undefined) (out[id] ??= {})[name] = String(v);
    }
  }
  return out;
}

let version: string | undefined;
export function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}

function buildProgram(out: { stdout: OutStream; stderr: OutStream }): Command {
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
    .option('--center-targets', 'regression: subtract each target column\'s mean before scoring')
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
    .option('--expect-top <name>', 'CI gate: exit 4 unless NAME ranks first (alone)')
    .option('--min-margin <x>', 'CI gate: exit 4 unless the best model leads by at least X on the ordering key')
    .option('--threads <n>', 'worker threads for the large linear-algebra kernels (default: all cores)')
    .option('--debug', 'print stack traces of internal errors')
    .version(toolVersion(), '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .addHelpText(
      'after',
      '\nCommands:\n  scorers [--format json]  list the available scorers\n  help                     show this help\n\n' +
        'Examples:\n  rank-models resnet50=feats/r50.npy vit=feats/vit.npy --labels y.npy\n' +
        '  rank-models --manifest models.yaml --format json | jq .ranking.best\n' +
        '  BEST=$(rank-models feats/ --labels y.npy --best)\n',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout.write(s),
      writeErr: (s) => out.stderr.write(s),
      outputError: () => undefined,
    })
    .allowExcessArguments(true);
  addParamOptions(program);
  return program;
}

/** The help text, for `rank-models help`. */
export function helpText(): string {
  const sink = { write: () => true };
  return buildProgram({ stdout: sink, stderr: sink }).helpInformation();
}

/** Parses the flags of a rank run; null when help or the version was printed (exit 0). */
export function parseFlags(argv: string[], out: { stdout: OutStream; stderr: OutStream }): { flags: Flags; args: string[]; params: ParamFlags } | null {
  const program = buildProgram(out);
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return null;
      throw new UsageError(`${err.message.replace(/^error: /, '')}\n(see rank-models --help)`);
    }
    throw err;
  }
  const opts = program.opts();
  return { flags: parseOrThrow(flagsSchema, opts, '', FLAG_NAMES), args: program.args, params: paramFlags(opts) };
}
