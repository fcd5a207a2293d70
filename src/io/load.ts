/**
 * The one loader: resolves `PATH#selector`, sniffs the file by its magic
 * bytes first and its extension second, dispatches to a parser, and turns
 * every failure into an InputError that names the file, what was expected and
 * what was found.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { Matrix, NdArray } from '../core/types.js';
import { parseNpy } from './npy.js';

export interface InputRef {
  /** Path as given (resolved against the manifest's folder or the working directory). */
  readonly path: string;
  /** Column or key inside a container (`feats.arrow#embedding`, `probe.npz#features`). */
  readonly selector?: string;
}

/** Extensions a directory expands to (one model per file). */
export const MODEL_EXTENSIONS = ['.npy'] as const;

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

type Kind = 'npy' | 'zip' | 'pickle' | 'arrow' | 'unknown';

function sniff(bytes: Uint8Array): Kind {
  const b = bytes;
  if (b.length >= 6 && b[0] === 0x93 && b[1] === 0x4e && b[2] === 0x55 && b[3] === 0x4d && b[4] === 0x50 && b[5] === 0x59) {
    return 'npy';
  }
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) return 'zip';
  if (b.length >= 2 && b[0] === 0x80 && b[1] >= 2 && b[1] <= 5) return 'pickle';
  if (b.length >= 6 && String.fromCharCode(...b.subarray(0, 6)) === 'ARROW1') return 'arrow';
  return 'unknown';
}

const TORCH_HINT =
  'this looks like a PyTorch file; convert it first: python -c "import torch, numpy as np; ' +
  "np.save('out.npy', torch.load('in.pt').float().numpy())\"";

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new InputError('expected a file, found a directory', file);
    return await readFile(file);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError('file not found', file);
    if (code === 'EACCES') throw new InputError('permission denied', file);
    throw new InputError(`cannot read file (${code ?? (err as Error).message})`, file);
  }
}

/** Reads an array from any supported file. */
export async function loadArray(ref: InputRef): Promise<NdArray> {
  const where = describeRef(ref);
  const bytes = await readBytes(ref.path);
  const kind = sniff(bytes);
  switch (kind) {
    case 'npy':
      if (ref.selector) throw new InputError(`a .npy file holds one array; remove the selector '#${ref.selector}'`, where);
      return parseNpy(bytes, ref.path);
    case 'pickle':
      throw new InputError(TORCH_HINT, where);
    case 'zip':
      if (ref.path.endsWith('.pt') || ref.path.endsWith('.pth')) throw new InputError(TORCH_HINT, where);
      throw new InputError('expected a .npy file, found a zip archive (.npz files are not supported yet)', where);
    case 'arrow':
      throw new InputError('expected a .npy file, found an Arrow file (not supported yet)', where);
    default: {
      const head = Array.from(bytes.subarray(0, 8), (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
      const found = bytes.length === 0 ? 'an empty file' : `bytes "${head}"`;
      throw new InputError(`expected a .npy file (magic \\x93NUMPY), found ${found}`, where);
    }
  }
}

/** Interprets an array as an N × D matrix. */
export function asMatrix(a: NdArray, role: string, where: string): Matrix {
  if (a.shape.length !== 2) {
    throw new InputError(
      `${role}: expected a 2-D array (N samples × D dimensions), found shape (${a.shape.join(', ')}${a.shape.length === 1 ? ',' : ''})`,
      where,
    );
  }
  return { data: a.data, rows: a.shape[0], cols: a.shape[1] };
}

/** Expands a directory to the supported files directly inside it, sorted by name. */
export async function expandDirectory(dir: string): Promise<string[] | null> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    return null;
  }
  if (!st.isDirectory()) return null;
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && MODEL_EXTENSIONS.some((ext) => e.name.toLowerCase().endsWith(ext)))
    .map((e) => path.join(dir, e.name))
    .sort();
}
