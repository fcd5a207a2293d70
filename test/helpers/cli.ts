import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.js';
import { parseNpy } from '../../src/io/npy.js';
import type { NdArray } from '../../src/core/types.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'fixtures');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

class Sink {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** Runs the CLI in-process with captured streams. */
export async function runCli(argv: string[], opts: { cwd?: string; env?: Record<string, string>; tty?: boolean } = {}): Promise<CliResult> {
  const stdout = new Sink(opts.tty ?? false);
  const stderr = new Sink(opts.tty ?? false);
  const code = await run(argv, { stdout, stderr, env: opts.env ?? {}, cwd: opts.cwd ?? ROOT });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export function readNpy(file: string): NdArray {
  return parseNpy(readFileSync(file), file);
}

/** Writes a little-endian float64 or int64 .npy (version 1.0) for CLI tests that need a bespoke file. */
export function npyBytes(values: number[], shape: number[], dtype: '<f8' | '<i8' = '<f8'): Buffer {
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => (dtype === '<f8' ? body.writeDoubleLE(v, i * 8) : body.writeBigInt64LE(BigInt(v), i * 8)));
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}
