/**
 * The plan stage: positional MODEL arguments, `--probs`, `--labels` and the
 * manifest become one list of models to load, before anything is read.
 * Naming rules (README "Naming models"): a model is named after its file
 * without the known extension; two files of one folder that would get the
 * same name are an error; in a folder, only regular files are models, and a
 * file that is (or is named like) the labels is not one.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { MODEL_EXTENSIONS, expandDirectory, modelName, parseRef, type InputRef } from '../io/load.js';
import type { ModelSpec } from './load-models.js';
import { manifestSchema, parseOrThrow, type Flags, type Manifest, type ManifestRef, type TASKS } from './options.js';
import { closest } from './suggest.js';

export interface Plan {
  models: ModelSpec[];
  labels?: InputRef;
  task?: (typeof TASKS)[number];
  scorers?: string[];
  /** The manifest file, when one was given (an input the report must never overwrite). */
  manifest?: string;
  /** The manifest's scorer parameters, with the manifest as given on the command line (for messages). */
  params?: { file: string; params: NonNullable<Manifest['params']> };
  /** Things the user should know about how arguments were read (skipped folder entries); printed on stderr. */
  notes: string[];
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
    throw new UsageError(`${file}: ${code === 'ENOENT' ? 'manifest not found' : code === 'EISDIR' ? 'expected a manifest file, found a directory' : `cannot read manifest (${code})`}`);
  }
  const yaml = /\.ya?ml$/i.test(file);
  let raw: unknown;
  try {
    raw = yaml ? (await import('yaml')).parse(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseOrThrow(manifestSchema, raw, `${file}: `);
}

/** File names that say "labels", not "a model": never taken as models from a folder. */
const LABEL_STEMS = /^(labels?|targets?|y|classes|ground[_-]?truth)$/i;

async function identity(file: string): Promise<string | null> {
  try {
    const st = await stat(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * The models of one folder: `NAME_logits.npy` or `NAME_probs.npy` beside
 * `NAME.npy` is that model's source-head output, not a model of its own.
 */
async function folderModels(dir: string, shown: string, labels: InputRef | undefined, notes: string[]): Promise<ModelSpec[]> {
  const listing = (await expandDirectory(dir))!;
  for (const s of listing.skipped) notes.push(`skipped ${s.file}: ${s.reason}, not a regular file`);
  const labelsId = labels && labels.path !== '-' ? await identity(labels.path) : null;
  const files: string[] = [];
  for (const f of listing.files) {
    if (labelsId !== null && (await identity(f)) === labelsId) continue;
    if (LABEL_STEMS.test(modelName(f))) {
      notes.push(`skipped ${f}: named like a labels file, not a model (give it as NAME=PATH to score it as a model)`);
      continue;
    }
    files.push(f);
  }
  const byName = new Map<string, string>();
  for (const f of files) {
    const name = modelName(f);
    const other = byName.get(name);
    if (other !== undefined) {
      throw new UsageError(
        `${shown}: ${path.basename(other)} and ${path.basename(f)} would both be the model '${name}'; rename one, or name each with NAME=PATH`,
      );
    }
    byName.set(name, f);
  }
  const heads = new Map<string, string>();
  for (const [name, f] of byName) {
    const m = /^(.*)_(logits|probs)$/.exec(name);
    if (m && byName.has(m[1])) heads.set(m[1], f);
  }
  const attached = new Set(heads.values());
  return [...byName]
    .filter(([, f]) => !attached.has(f))
    .map(([name, f]) => {
      const head = heads.get(name);
      return head ? { name, features: { path: f }, probs: { path: head }, origin: shown } : { name, features: { path: f }, origin: shown };
    });
}

/** Turns positional MODEL arguments, `--probs` and the manifest into one list of model specs. */
export async function plan(args: string[], flags: Flags, cwd: string): Promise<Plan> {
  const out: Plan = { models: [], notes: [] };
  const manifests = flags.manifest ? [flags.manifest] : [];
  const positional: string[] = [];
  for (const a of args) (/\.(json|ya?ml)$/i.test(a) && !a.includes('=') ? manifests : positional).push(a);
  if (manifests.length > 1) throw new UsageError(`give one manifest, found ${manifests.length}: ${manifests.join(', ')}`);

  if (manifests.length === 1) {
    const file = path.resolve(cwd, manifests[0]);
    out.manifest = file;
    const m = await readManifest(file);
    const base = path.dirname(file);
    if (m.labels) out.labels = refFromManifest(m.labels, base);
    if (m.task) out.task = m.task;
    if (m.scorers) out.scorers = m.scorers;
    if (m.params) out.params = { file: manifests[0], params: m.params };
    m.models.forEach((model, i) => {
      const spec: ModelSpec = { name: model.name, origin: `${manifests[0]}: models[${i}]` };
      if (model.features) spec.features = refFromManifest(model.features, base);
      if (model.probs) spec.probs = refFromManifest(model.probs, base);
      out.models.push(spec);
    });
  }

  if (flags.labels) out.labels = parseRef(flags.labels, cwd);
  for (const a of positional) {
    if (a.startsWith('=')) throw new UsageError(`model '${a}': expected NAME=PATH, found an empty name`);
    const eq = a.indexOf('=');
    const named = eq > 0 && !a.slice(0, eq).includes('/');
    const name = named ? a.slice(0, eq) : undefined;
    const target = named ? a.slice(eq + 1) : a;
    if (!target) throw new UsageError(`model '${a}': expected NAME=PATH, found an empty path`);
    const ref = parseRef(target, cwd);
    const isDir = !ref.selector && ref.path !== '-' && (await stat(ref.path).then((s) => s.isDirectory(), () => false));
    if (isDir) {
      if (name) throw new UsageError(`${a}: NAME=PATH takes a file, not a directory`);
      const models = await folderModels(ref.path, target, out.labels, out.notes);
      if (models.length === 0) throw new UsageError(`${target}: directory holds no model files (${MODEL_EXTENSIONS.join(' ')})`);
      out.models.push(...models);
    } else {
      out.models.push({ name: name ?? (target === '-' ? 'stdin' : modelName(ref.path)), features: ref, origin: a });
    }
  }

  const withFeatures = out.models.filter((m) => m.features !== undefined).map((m) => m.name);
  for (const spec of flags.probs) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    const ref = parseRef(spec.slice(eq + 1), cwd);
    const model = out.models.find((m) => m.name === name);
    if (model) {
      model.probs = ref;
    } else if (withFeatures.length > 0) {
      // A name that matches nothing is far more often a typo than a wish for a model without features.
      const guess = closest(name, withFeatures);
      throw new UsageError(
        `--probs ${spec}: no model is named '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}; models: ${withFeatures.join(', ')}. ` +
          'A model with source-head outputs only is listed in a manifest (probs: without features:)',
      );
    } else {
      out.models.push({ name, probs: ref, origin: `--probs ${spec}` });
    }
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

/** Every file the run reads, for the check that the report never overwrites one. */
export function inputFiles(p: Plan): string[] {
  const files: string[] = [];
  if (p.manifest) files.push(p.manifest);
  if (p.labels) files.push(p.labels.path);
  for (const m of p.models) {
    if (m.features) files.push(m.features.path);
    if (m.probs) files.push(m.probs.path);
  }
  return files.filter((f) => f !== '-');
}
