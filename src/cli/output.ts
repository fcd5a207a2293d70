/**
 * Where the report goes (`-o FILE`), decided and checked before any work, and
 * written so that no input is ever lost (README "How rank-models protects
 * you"):
 * - the format comes from `--format` or the extension; an unknown extension
 *   is a usage error, never a silent table;
 * - FILE must not be one of the run's inputs (same file by device and inode,
 *   so `./x/../f.npy`, symbolic and hard links all count);
 * - its folder must exist (it is never created) and be writable;
 * - the report is written to a temporary file in the same folder and renamed
 *   over FILE, so FILE is either the old one or the complete new one.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, lstat, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, UsageError } from '../core/errors.js';
import type { Format } from './options.js';

/** Report formats by file extension. */
export const EXTENSION_FORMATS: Readonly<Record<string, Format>> = {
  '.json': 'json',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.csv': 'csv',
  '.md': 'markdown',
  '.txt': 'table',
};

export interface OutputPlan {
  /** The file written (a symbolic link's target). */
  readonly file: string;
  /** As the user gave it, for messages. */
  readonly shown: string;
  readonly format: Format;
  /** An existing FIFO or device (e.g. /dev/stdout): written in place, since it cannot be replaced by a rename. */
  readonly direct: boolean;
}

function formatFor(file: string, given: Format | undefined): Format {
  if (given) return given;
  const ext = path.extname(file).toLowerCase();
  const format = EXTENSION_FORMATS[ext];
  if (format) return format;
  const known = Object.keys(EXTENSION_FORMATS).join(' ');
  throw new UsageError(
    `-o ${file}: cannot tell the report format from ${ext ? `the extension '${ext}'` : 'a file name without an extension'}; ` +
      `use one of ${known}, or give --format`,
  );
}

/** Resolves and checks `-o` before any work: a usage error for anything that would fail or destroy later. */
export async function planOutput(out: string, cwd: string, given: Format | undefined): Promise<OutputPlan> {
  const format = formatFor(out, given);
  let file = path.resolve(cwd, out);
  const link = await lstat(file).catch(() => null);
  if (link?.isSymbolicLink()) {
    file = await realpath(file).catch(() => {
      throw new UsageError(`-o ${out}: a symbolic link to a missing file; give the target path instead`);
    });
  }
  const st = await stat(file).catch(() => null);
  if (st?.isDirectory()) throw new UsageError(`-o ${out}: is a directory; expected a file path for the report`);
  if (st && !st.isFile()) return { file, shown: out, format, direct: true };
  const dir = path.dirname(file);
  const dst = await stat(dir).catch(() => null);
  if (!dst) throw new UsageError(`-o ${out}: the folder ${dir} does not exist (it is not created; make it first)`);
  if (!dst.isDirectory()) throw new UsageError(`-o ${out}: ${dir} is not a folder`);
  try {
    await access(dir, constants.W_OK);
    if (st) await access(file, constants.W_OK);
  } catch {
    throw new UsageError(`-o ${out}: permission denied: cannot write ${st ? file : `into ${dir}`}`);
  }
  return { file, shown: out, format, direct: false };
}

/** Refuses a report path that is one of the run's inputs. */
export async function assertNotAnInput(plan: OutputPlan, inputs: readonly string[]): Promise<void> {
  const target = await stat(plan.file).catch(() => null);
  if (!target) return;
  for (const input of inputs) {
    const st = await stat(input).catch(() => null);
    if (st && st.dev === target.dev && st.ino === target.ino) {
      throw new UsageError(`-o ${plan.shown}: that is an input of this run (${input}); the report would overwrite it. Choose another file`);
    }
  }
}

/** Writes the report: atomically (temporary file, then rename) for regular files; in place for a FIFO or device. */
export async function writeReport(plan: OutputPlan, text: string): Promise<void> {
  if (plan.direct) {
    try {
      await writeFile(plan.file, text);
    } catch (err) {
      throw new InputError(`cannot write the report (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, plan.file);
    }
    return;
  }
  const dir = path.dirname(plan.file);
  const tmp = path.join(dir, `.${path.basename(plan.file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const old = await stat(plan.file).catch(() => null);
    await writeFile(tmp, text, { flag: 'wx' });
    if (old) await chmod(tmp, old.mode & 0o7777);
    await rename(tmp, plan.file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new InputError(`cannot write the report (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the previous file, if any, is unchanged`, plan.file);
  }
}
