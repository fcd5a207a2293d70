/**
 * The one loader: resolves `PATH#selector`, sniffs the file by its magic
 * bytes first and its extension second, dispatches to a parser, and turns
 * every failure into an InputError that names the file (and selector), what
 * was expected and what was found.
 *
 * | format                         | recognised by                         | parser     |
 * |--------------------------------|---------------------------------------|------------|
 * | .npy                           | magic \x93NUMPY                       | npy.ts     |
 * | .npz (stored / deflated)       | magic PK\x03\x04 (zip)                | npz.ts     |
 * | Arrow IPC file, Feather v2     | magic ARROW1                          | arrow.ts   |
 * | Arrow IPC stream (also stdin)  | 0xFFFFFFFF continuation marker        | arrow.ts   |
 * | CSV / TSV / one value per line | extension .csv .tsv .txt (labels only) | text.ts    |
 *
 * A PyTorch file (a zip with `<name>/data.pkl`, or a pickle) gets a one-line
 * hint showing the `np.save` conversion. Each file is read from disk once, into
 * one buffer; float32 data stays float32 (a view on that buffer when aligned).
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { LoadedArray, Matrix, NdArray, StringArray } from '../core/types.js';
import { parseNpy, parseNpyLabels } from './npy.js';
import { readWholeFile, wrapFsError } from './read-file.js';
import { looksLikeTorchZip, npzKeys, readNpzEntry, zipEntries } from './npz.js';
import { readTextLabels } from './text.js';

export interface InputRef {
  /** Path as given (resolved against the manifest's folder or the working directory). */
  readonly path: string;
  /** Column or key inside a container (`feats.arrow#embedding`, `probe.npz#features`). */
  readonly selector?: string;
}

/** What the array is for: picks default npz keys / Arrow columns and which formats are allowed. */
export type Role = 'features' | 'labels' | 'probs';

export interface LoadOptions {
  /** Default `features`. Text files are accepted for `labels` only. */
  readonly role?: Role;
  /** Where `-` reads from (default: process.stdin). */
  readonly stdin?: NodeJS.ReadableStream;
}

/** Extensions a directory expands to (one model per file). */
export const MODEL_EXTENSIONS = ['.npy', '.npz', '.arrow', '.feather', '.ipc', '.arrows'] as const;

/** Extensions read as text (labels only). */
export const TEXT_EXTENSIONS = ['.csv', '.tsv', '.txt'] as const;

const ARROW_EXTENSIONS = ['.arrow', '.feather', '.ipc', '.arrows', '.stream', '.fea'];

const SUPPORTED =
  '.npy, .npz, Arrow IPC file / Feather v2 (.arrow, .feather, .ipc), Arrow IPC stream (.arrows, or - for stdin), and for labels .csv/.tsv/.txt';

/** Splits `PATH#selector`. A `#` inside an existing file name is kept by the caller checking existence first. */
export function parseRef(spec: string, base: string): InputRef {
  const hash = spec.lastIndexOf('#');
  const raw = hash > 0 ? spec.slice(0, hash) : spec;
  const selector = hash > 0 ? spec.slice(hash + 1) : undefined;
  const resolved = raw === '-' ? '-' : path.resolve(base, raw);
  return selector ? { path: resolved, selector } : { path: resolved };
}

export function describeRef(ref: InputRef): string {
  return ref.selector ? `${ref.path}#${ref.selector}` : ref.path;
}

/** True for string labels (as opposed to numbers). */
export function isStringArray(a: LoadedArray): a is StringArray {
  return (a as StringArray).strings !== undefined;
}

type Kind = 'npy' | 'zip' | 'pickle' | 'arrow-file' | 'arrow-stream' | 'feather-v1' | 'parquet' | 'gzip' | 'unknown';

/** Classifies bytes by their magic number. */
export function sniff(bytes: Uint8Array): Kind {
  const b = bytes;
  const at = (i: number, s: string): boolean => {
    if (b.length < i + s.length) return false;
    for (let k = 0; k < s.length; k++) if (b[i + k] !== s.charCodeAt(k)) return false;
    return true;
  };
  if (at(0, '\x93NUMPY')) return 'npy';
  if (at(0, 'PK\x03\x04') || at(0, 'PK\x05\x06')) return 'zip';
  if (b.length >= 2 && b[0] === 0x80 && b[1] >= 2 && b[1] <= 5) return 'pickle';
  if (at(0, 'ARROW1')) return 'arrow-file';
  if (b.length >= 8 && b[0] === 0xff && b[1] === 0xff && b[2] === 0xff && b[3] === 0xff) return 'arrow-stream';
  if (at(0, 'FEA1')) return 'feather-v1';
  if (at(0, 'PAR1')) return 'parquet';
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  return 'unknown';
}

const TORCH_HINT =
  'expected a NumPy or Arrow file, found a PyTorch file; convert it first: python -c "import torch, numpy as np; ' +
  "np.save('out.npy', torch.load('in.pt').float().numpy())\"";

/** Bytes for messages: printable ASCII as is, the rest as \xNN. */
function showHead(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  const head = Array.from(bytes.subarray(0, 8), (c) =>
    c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`,
  ).join('');
  return `bytes "${head}"${bytes.length > 8 ? '...' : ''}`;
}

async function readStdin(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  if ((stream as { isTTY?: boolean }).isTTY) {
    throw new InputError('expected an Arrow IPC stream piped to standard input, found a terminal', '-');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      chunks.push(buf);
      total += buf.length;
    }
  } catch (err) {
    throw new InputError(`cannot read standard input (${(err as Error).message})`, '-');
  }
  // One fresh buffer at offset 0, so that aligned float data needs no copy.
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function ext(file: string): string {
  return path.extname(file).toLowerCase();
}

/** Loads the arrow module on first use (apache-arrow takes ~150 ms to import). */
async function arrow(): Promise<typeof import('./arrow.js')> {
  return import('./arrow.js');
}

/** The npz key a role reads when no `#key` is given. */
function defaultNpzKey(keys: readonly string[], role: Role, where: string): string {
  const pick = (names: string[]): string | undefined => names.find((n) => keys.includes(n));
  const wanted: Record<Role, string[]> = { features: ['features'], labels: ['labels', 'y'], probs: ['probs', 'logits'] };
  // A single array is taken as is — unless its name says it is something else
  // (the features of a bundle read as labels would become 6 regression targets).
  const otherRoles = (Object.keys(wanted) as Role[]).filter((r) => r !== role).flatMap((r) => wanted[r]);
  const single = keys.length === 1 && !otherRoles.includes(keys[0]) ? keys[0] : undefined;
  const key = pick(wanted[role]) ?? single;
  if (key !== undefined) return key;
  const names = wanted[role].map((n) => `'${n}'`).join(' or ');
  throw new InputError(
    `expected a key ${names} or a single array for the ${role}, found ${keys.length === 0 ? 'no .npy entries' : `keys: ${keys.join(', ')}`}; choose one with ${path.basename(where)}#KEY`,
    where,
  );
}

/** The npz keys of a zip, refusing a zip that holds no .npy entry. */
function npzKeysOrThrow(bytes: Uint8Array, file: string, where: string): string[] {
  const keys = npzKeys(bytes, file);
  if (keys.length === 0) {
    const names = zipEntries(bytes, file).map((e) => e.name);
    throw new InputError(
      `expected an .npz archive of .npy arrays, found a zip without any (${names.length === 0 ? 'no entries' : `entries: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}`})`,
      where,
    );
  }
  return keys;
}

function readNpz(bytes: Uint8Array, file: string, selector: string | undefined, role: Role): LoadedArray {
  const keys = npzKeysOrThrow(bytes, file, selector ? `${file}#${selector}` : file);
  const key = selector ?? defaultNpzKey(keys, role, file);
  return role === 'labels' ? readNpzEntry(bytes, key, file, { labels: true }) : readNpzEntry(bytes, key, file);
}

async function dispatch(bytes: Uint8Array, file: string, selector: string | undefined, role: Role, fromStdin: boolean): Promise<LoadedArray> {
  const where = selector ? `${file}#${selector}` : file;
  const kind = sniff(bytes);
  const e = fromStdin ? '' : ext(file);
  switch (kind) {
    case 'npy':
      if (selector) throw new InputError(`a .npy file holds one array; remove the selector '#${selector}'`, where);
      return role === 'labels' ? parseNpyLabels(bytes, file) : parseNpy(bytes, file);
    case 'pickle':
      throw new InputError(TORCH_HINT, where);
    case 'zip':
      if (e === '.pt' || e === '.pth' || e === '.ckpt' || looksLikeTorchZip(bytes, file)) throw new InputError(TORCH_HINT, where);
      return readNpz(bytes, file, selector, role);
    case 'arrow-file':
    case 'arrow-stream': {
      const a = await arrow();
      return role === 'labels' ? a.readArrowLabels(bytes, file, selector) : a.readArrowFeatures(bytes, file, selector);
    }
    case 'feather-v1':
      throw new InputError(
        'expected Feather v2 (an Arrow IPC file), found the old Feather v1 format; rewrite it: python -c "import pyarrow.feather as f; ' +
          "f.write_feather(f.read_table('in.feather'), 'out.feather')\"",
        where,
      );
    case 'parquet':
      throw new InputError(
        'expected an Arrow, Feather, .npy or .npz file, found Parquet (not supported yet); convert it: python -c "import pyarrow.parquet as pq, pyarrow.feather as f; ' +
          "f.write_feather(pq.read_table('in.parquet'), 'out.feather')\"",
        where,
      );
    case 'gzip':
      throw new InputError(`expected an uncompressed file (${SUPPORTED}), found gzip-compressed data; decompress it first (gunzip)`, where);
    default:
      break;
  }
  if (fromStdin) {
    throw new InputError(`expected an Arrow IPC stream on standard input, found ${showHead(bytes)}`, where);
  }
  if (ARROW_EXTENSIONS.includes(e)) {
    // Maybe a legacy (pre-0.15) stream without the continuation marker.
    const a = await arrow();
    if (a.looksLikeLegacyArrowStream(bytes)) {
      return role === 'labels' ? a.readArrowLabels(bytes, file, selector) : a.readArrowFeatures(bytes, file, selector);
    }
    throw new InputError(`expected an Arrow IPC file (magic ARROW1) or stream (0xFFFFFFFF marker), found ${showHead(bytes)}`, where);
  }
  if ((TEXT_EXTENSIONS as readonly string[]).includes(e)) {
    if (role !== 'labels') {
      throw new InputError(
        `expected ${role === 'probs' ? 'source-head outputs' : 'features'} in a binary format (${SUPPORTED.replace(', and for labels .csv/.tsv/.txt', '')}), found a text file (${e}): text is read for labels only; ` +
          'save arrays with np.save(path, arr.astype(np.float32))',
        where,
      );
    }
    return readTextLabels(bytes, file, selector);
  }
  if (e === '.npy') throw new InputError(`expected a .npy file (magic \\x93NUMPY), found ${showHead(bytes)}`, where);
  if (e === '.npz') throw new InputError(`expected an .npz file (a zip archive, magic PK\\x03\\x04), found ${showHead(bytes)}`, where);
  if (e === '.pt' || e === '.pth') throw new InputError(TORCH_HINT, where);
  if (e === '.parquet') throw new InputError('expected an Arrow, Feather, .npy or .npz file, found Parquet (not supported yet)', where);
  if (e === '.safetensors') {
    throw new InputError(
      'expected a NumPy or Arrow file, found safetensors (not supported yet); convert it: python -c "from safetensors.numpy import load_file; import numpy as np; ' +
        "np.save('out.npy', load_file('in.safetensors')['KEY'])\"",
      where,
    );
  }
  throw new InputError(`expected one of the supported formats (${SUPPORTED}), found ${showHead(bytes)}${e ? ` in a '${e}' file` : ''}`, where);
}

/**
 * Reads an array from any supported file (`-`: an Arrow stream from stdin).
 * Roles `features` (default) and `probs` always give numbers; `labels` may
 * give a StringArray (class names) and also reads text files.
 */
export function loadArray(ref: InputRef, opts: LoadOptions & { role: 'labels' }): Promise<LoadedArray>;
export function loadArray(ref: InputRef, opts?: LoadOptions & { role?: 'features' | 'probs' }): Promise<NdArray>;
export function loadArray(ref: InputRef, opts?: LoadOptions): Promise<LoadedArray>;
export async function loadArray(ref: InputRef, opts: LoadOptions = {}): Promise<LoadedArray> {
  const role = opts.role ?? 'features';
  const fromStdin = ref.path === '-';
  const file = fromStdin ? '-' : ref.path;
  const bytes = fromStdin ? await readStdin(opts.stdin ?? process.stdin) : await readWholeFile(file);
  const out = await dispatch(bytes, file, ref.selector, role, fromStdin);
  if (role !== 'labels' && isStringArray(out)) {
    // Only reachable through a labels-only path; kept as a guard for the overloads above.
    throw new InputError(`expected numbers for the ${role}, found strings`, describeRef(ref));
  }
  return out;
}

/** What an `.npz` "complete model" holds (specs/cli.md §1): every conventional key present. */
export interface NpzBundle {
  /** Every .npy key in the archive. */
  readonly keys: readonly string[];
  readonly features?: NdArray;
  readonly labels?: LoadedArray;
  readonly probs?: NdArray;
  readonly probsKey?: 'probs' | 'logits';
}

/**
 * Reads the conventional keys of an `.npz` (`features`, `labels` or `y`,
 * `probs` or `logits`) in one read of the file; null when the file is not an
 * npz (so the caller loads it as a plain input). Throws InputError for a
 * missing, unreadable or corrupt npz. Use it instead of loadArray for a model
 * given as a bare `.npz` (no `#key`), so the file is read once.
 */
export async function loadNpzBundle(file: string): Promise<NpzBundle | null> {
  if (file === '-') return null;
  const bytes = await readWholeFile(file);
  if (sniff(bytes) !== 'zip' || ext(file) === '.pt' || ext(file) === '.pth' || looksLikeTorchZip(bytes, file)) return null;
  const keys = npzKeysOrThrow(bytes, file, file);
  const has = (k: string): boolean => keys.includes(k);
  const labelsKey = has('labels') ? 'labels' : has('y') ? 'y' : undefined;
  const probsKey = has('probs') ? 'probs' : has('logits') ? 'logits' : undefined;
  return {
    keys,
    ...(has('features') ? { features: readNpzEntry(bytes, 'features', file) } : {}),
    ...(labelsKey ? { labels: readNpzEntry(bytes, labelsKey, file, { labels: true }) } : {}),
    ...(probsKey ? { probs: readNpzEntry(bytes, probsKey, file), probsKey } : {}),
  };
}

/** Interprets an array as an N × D matrix. */
export function asMatrix(a: LoadedArray, role: string, where: string): Matrix {
  if (isStringArray(a)) {
    throw new InputError(`${role}: expected numbers, found strings (a column of names)`, where);
  }
  if (a.shape.length !== 2) {
    throw new InputError(
      `${role}: expected a 2-D array (N samples × D dimensions), found shape (${a.shape.join(', ')}${a.shape.length === 1 ? ',' : ''})`,
      where,
    );
  }
  return { data: a.data, rows: a.shape[0], cols: a.shape[1] };
}

/** Extensions that name a model file; a model's default name is its file name without one of them. */
const NAME_EXTENSIONS: readonly string[] = [...MODEL_EXTENSIONS, '.fea', '.stream'];

/**
 * A model's default name: the file name without its known extension
 * (`vit.b16.npy` → `vit.b16`, `model_lr0.001.npy` → `model_lr0.001`), or the
 * whole file name when the extension is not one we read. A `#selector` is
 * not part of the name.
 */
export function modelName(file: string): string {
  const base = path.basename(file);
  const lower = base.toLowerCase();
  const known = NAME_EXTENSIONS.find((x) => lower.endsWith(x) && lower.length > x.length);
  return known ? base.slice(0, base.length - known.length) : base;
}

export interface DirectoryListing {
  /** Regular files (symbolic links followed) with a model extension, sorted by name. */
  readonly files: string[];
  /** Entries that look like models but are not regular files (FIFOs, sockets, devices), with what they are. */
  readonly skipped: { readonly file: string; readonly reason: string }[];
}

function entryKind(st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Expands a directory to the model files directly inside it; null when
 * `dir` is not a directory. Only regular files count: reading a FIFO in a
 * folder would block the run until something writes to it, so such entries
 * are listed in `skipped` instead. Symbolic links are followed.
 */
export async function expandDirectory(dir: string): Promise<DirectoryListing | null> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    return null;
  }
  if (!st.isDirectory()) return null;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw wrapFsError(err, dir);
  }
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const name of names.sort()) {
    if (!MODEL_EXTENSIONS.some((x) => name.toLowerCase().endsWith(x))) continue;
    const file = path.join(dir, name);
    let est;
    try {
      est = await stat(file);
    } catch {
      skipped.push({ file, reason: 'a broken symbolic link' });
      continue;
    }
    if (est.isFile()) files.push(file);
    else if (!est.isDirectory()) skipped.push({ file, reason: entryKind(est) });
  }
  return { files, skipped };
}
