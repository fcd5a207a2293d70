/**
 * Reads a whole input file into one freshly allocated buffer (offset 0, so
 * aligned float data can be viewed without a further copy), in chunks, so that
 * files over 2 GiB — the limit of fs.readFile — also load; fs errors become
 * InputErrors naming the file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Buffer, constants as bufferConstants } from 'node:buffer';
import { InputError } from '../core/errors.js';

const CHUNK = 1 << 30;

export function wrapFsError(err: unknown, file: string): InputError {
  if (err instanceof InputError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new InputError('file not found', file);
  if (code === 'EISDIR') return new InputError('expected a file, found a directory', file);
  if (code === 'EACCES' || code === 'EPERM') return new InputError('permission denied', file);
  return new InputError(`cannot read file (${code ?? (err instanceof Error ? err.message : String(err))})`, file);
}

/** Reads a stream-like file (FIFO, character device) until end of file, into one buffer at offset 0. */
async function readToEnd(fh: FileHandle): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafeSlow(1 << 20);
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
  }
  const out: Uint8Array = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Reads the whole file into a Uint8Array with byteOffset 0. */
export async function readWholeFile(file: string): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw wrapFsError(err, file);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new InputError('expected a file, found a directory', file);
    // A FIFO or process substitution (`m=<(cat f.npy)`) reports size 0: read it to its end instead.
    if (!st.isFile()) return await readToEnd(fh);
    const size = st.size;
    if (size > bufferConstants.MAX_LENGTH) {
      throw new InputError(
        `file is ${size} bytes, more than the ${bufferConstants.MAX_LENGTH} bytes this Node.js can hold in one buffer`,
        file,
      );
    }
    // Unpooled and not zero-filled: every byte is overwritten below (or cut off).
    const buf: Uint8Array = Buffer.allocUnsafeSlow(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(buf, done, Math.min(CHUNK, size - done), done);
      if (bytesRead === 0) break; // file shrank while reading: parse what we have
      done += bytesRead;
    }
    return done === size ? buf : buf.subarray(0, done);
  } catch (err) {
    throw wrapFsError(err, file);
  } finally {
    await fh.close().catch(() => undefined);
  }
}
