/**
 * The loader across every format users write (issue 4): the same features and
 * labels in each encoding (fixtures/formats, written by numpy and pyarrow)
 * load to the same values and give the same LogME; every bad file is an
 * InputError naming the file and selector, never a stack trace or a hang.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { deflateRawSync } from 'node:zlib';
import {
  Dictionary,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  List,
  Utf8,
  makeData,
  makeVector,
  Table,
  tableToIPC,
  vectorFromArray,
  Vector,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ModelContext } from '../../src/core/context.js';
import { InputError } from '../../src/core/errors.js';
import { logme } from '../../src/core/scorers/logme.js';
import type { LoadedArray, NdArray, Targets } from '../../src/core/types.js';
import { encodeClasses, makeTargets } from '../../src/core/validate.js';
import { arrowKind, readArrowFeatures, readArrowLabels } from '../../src/io/arrow.js';
import { verifyArrowIpc } from '../../src/io/arrow-verify.js';
import {
  asMatrix,
  describeRef,
  expandDirectory,
  isStringArray,
  loadArray,
  loadNpzBundle,
  parseRef,
  sniff,
  type InputRef,
  type LoadOptions,
} from '../../src/io/load.js';
import { npzKeys, readNpzEntry, zipEntries } from '../../src/io/npz.js';
import { parseNpy } from '../../src/io/npy.js';
import { parseCsv, readTextLabels } from '../../src/io/text.js';
import { FIXTURES } from '../helpers/cli.js';
import { mulberry32 } from '../helpers/random.js';
import { expectClose } from '../helpers/tolerance.js';

const DIR = path.join(FIXTURES, 'formats');
const EXPECTED = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as {
  n: number;
  d: number;
  n_classes: number;
  class_names: string[];
  logme: number;
  df24: {
    n: number;
    d: number;
    n_classes: number;
    features: string;
    labels: string;
    files: Record<string, string>;
    lz4_descriptors: Record<string, { flg: number; bd: number }>;
    logme: number;
  };
};

function ref(spec: string): InputRef {
  return parseRef(spec, DIR);
}

function bytesOf(name: string): Uint8Array {
  const b = readFileSync(path.join(DIR, name));
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

const F8 = parseNpy(bytesOf('features_f8.npy'), 'features_f8.npy');
const LABELS = parseNpy(bytesOf('labels.npy'), 'labels.npy');

function targetsOf(a: LoadedArray, where: string): Targets {
  return isStringArray(a) ? encodeClasses(a.strings, where) : makeTargets(a, 'classification', where);
}

const TARGETS = targetsOf(LABELS, 'labels.npy');

function logmeOf(a: NdArray, where: string, targets: Targets = TARGETS): number {
  return logme.score(new ModelContext({ name: where, features: asMatrix(a, 'features', where) }, targets)).value;
}

/** Runs fn and returns the InputError it throws (fails on anything else, or on no error). */
async function inputError(fn: () => unknown): Promise<InputError> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return err;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

async function loadError(spec: string, opts?: LoadOptions): Promise<InputError> {
  return inputError(() => loadArray(ref(spec), opts));
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'rank-models-formats-'));
function tmpFile(name: string, data: Uint8Array | string): string {
  const p = path.join(tmp, name);
  writeFileSync(p, data);
  return p;
}

// ---------------------------------------------------------------------------

describe('the same features in every encoding', () => {
  const encodings: [string, 'Float32Array' | 'Float64Array'][] = [
    ['features_f8.npy', 'Float64Array'],
    ['features_f4.npy', 'Float32Array'],
    ['features_f2.npy', 'Float32Array'],
    ['features_f8_be.npy', 'Float64Array'],
    ['features_f4_fortran.npy', 'Float32Array'],
    ['bundle_stored.npz', 'Float32Array'],
    ['bundle_deflate.npz', 'Float32Array'],
    ['bundle_deflate.npz#features', 'Float32Array'],
    ['features_plain.feather', 'Float32Array'],
    ['features_lz4.feather', 'Float32Array'],
    ['features_zstd.feather', 'Float32Array'],
    ['features_zstd.feather#embedding', 'Float32Array'],
    ['features_f16.feather', 'Float32Array'],
    ['features_list.arrow', 'Float32Array'],
    ['features_columns.arrows', 'Float32Array'],
  ];

  it('the fixtures hold what expected.json says', () => {
    expect(F8.shape).toEqual([EXPECTED.n, EXPECTED.d]);
    expect(TARGETS.type === 'classification' && TARGETS.numClasses).toBe(EXPECTED.n_classes);
    expectClose(logmeOf(F8, 'features_f8.npy'), EXPECTED.logme, 1e-9, 1e-12, 'f8 LogME vs reference.py');
  });

  for (const [spec, storage] of encodings) {
    it(`${spec}: values identical to the f8 .npy, ${storage}, same LogME`, async () => {
      const a = await loadArray(ref(spec), { role: 'features' });
      expect(a.shape).toEqual([EXPECTED.n, EXPECTED.d]);
      expect(a.data.constructor.name).toBe(storage);
      const half = spec.includes('f2') || spec.includes('f16');
      for (let i = 0; i < F8.data.length; i++) {
        const want = F8.data[i];
        // float16 holds these values exactly; allow its precision anyway (11 significant bits)
        if (half ? Math.abs(a.data[i] - want) > Math.abs(want) * 2 ** -11 : a.data[i] !== want) {
          expect.fail(`${spec}: element ${i} is ${a.data[i]}, expected ${want}`);
        }
      }
      expectClose(logmeOf(a, spec), EXPECTED.logme, 1e-9, 1e-12, spec);
    });
  }

  it('records the dtype as written in the file', async () => {
    expect((await loadArray(ref('features_f2.npy'))).dtype).toBe('<f2');
    expect((await loadArray(ref('features_f16.feather'))).dtype).toBe('fixed_size_list<float16>');
    expect((await loadArray(ref('features_list.arrow'))).dtype).toBe('list<float32>');
    expect((await loadArray(ref('features_columns.arrows'))).dtype).toBe('float32');
  });

  it('an uncompressed single-batch float32 column is a view on the file bytes (no copy)', () => {
    const bytes = bytesOf('features_plain.feather');
    const a = readArrowFeatures(bytes, 'features_plain.feather');
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(a.data.buffer).toBe(bytes.buffer);
  });

  it('the LZ4 feather has several record batches, concatenated in order', () => {
    const bytes = bytesOf('features_lz4.feather');
    expect(arrowKind(bytes)).toBe('file');
    const a = readArrowFeatures(bytes, 'features_lz4.feather');
    expect(Array.from(a.data.subarray(50 * 16, 51 * 16))).toEqual(Array.from(F8.data.subarray(50 * 16, 51 * 16)));
  });

  it('the probs role reads the logits of an npz bundle', async () => {
    const a = await loadArray(ref('bundle_deflate.npz'), { role: 'probs' });
    expect(a.shape).toEqual([EXPECTED.n, 5]);
  });

  it('magic bytes win over the extension', async () => {
    const featherAsNpy = tmpFile('really_feather.npy', bytesOf('features_plain.feather'));
    const npyAsFeather = tmpFile('really_npy.feather', bytesOf('features_f8.npy'));
    expect((await loadArray({ path: featherAsNpy })).dtype).toBe('fixed_size_list<float32>');
    expect((await loadArray({ path: npyAsFeather })).dtype).toBe('<f8');
  });
});

describe('the same labels in every encoding', () => {
  const encodings = [
    'labels.npy',
    'labels_str.feather',
    'labels.csv',
    'labels.txt',
    'bundle_stored.npz',
    'bundle_deflate.npz#labels',
    'features_plain.feather',
    'features_lz4.feather#label',
    'features_list.arrow',
  ];
  for (const spec of encodings) {
    it(`${spec}: same classes and the same LogME as int64 .npy labels`, async () => {
      const a = await loadArray(ref(spec), { role: 'labels' });
      expect(a.shape).toEqual([EXPECTED.n]);
      const t = targetsOf(a, spec);
      if (t.type !== 'classification' || TARGETS.type !== 'classification') throw new Error('not classification');
      expect(Array.from(t.labels)).toEqual(Array.from(TARGETS.labels));
      expectClose(logmeOf(F8, spec, t), EXPECTED.logme, 1e-9, 1e-12, spec);
    });
  }

  it('string labels come back as strings, numbers as float64', async () => {
    const s = await loadArray(ref('labels_str.feather'), { role: 'labels' });
    expect(isStringArray(s) && s.dtype).toBe('string');
    expect(isStringArray(s) && [...new Set(s.strings)].sort()).toEqual(EXPECTED.class_names);
    const n = await loadArray(ref('labels.txt'), { role: 'labels' });
    expect(!isStringArray(n) && n.data).toBeInstanceOf(Float64Array);
  });
});

// ---------------------------------------------------------------------------

describe('files written by polars, pandas and pyarrow (300 × 24 float32, LZ4 frames with linked blocks and checksums)', () => {
  const X = EXPECTED.df24;
  const F = parseNpy(bytesOf(X.features), X.features);
  const Y = targetsOf(parseNpy(bytesOf(X.labels), X.labels), X.labels);
  const npyLogme = logmeOf(F, X.features, Y);

  it('the .npy holds what expected.json says', () => {
    expect(F.shape).toEqual([X.n, X.d]);
    expect(Y.type === 'classification' && Y.numClasses).toBe(X.n_classes);
    expectClose(npyLogme, X.logme, 1e-9, 1e-12, 'df24 LogME vs reference.py');
  });

  it('polars writes LZ4 frames with linked blocks and block and content checksums (FLG 0x54), pyarrow and pandas without (FLG 0x60)', () => {
    for (const [file, { flg, bd }] of Object.entries(X.lz4_descriptors)) {
      const b = bytesOf(file);
      let at = -1;
      for (let i = 0; i + 4 <= b.length; i++) {
        if (b[i] === 0x04 && b[i + 1] === 0x22 && b[i + 2] === 0x4d && b[i + 3] === 0x18) {
          at = i;
          break;
        }
      }
      expect([b[at + 4], b[at + 5]], file).toEqual([flg, bd]);
    }
    expect(X.lz4_descriptors['df24_polars_lz4.arrow'].flg).toBe(0x54);
    expect(X.lz4_descriptors['df24_pyarrow_lz4.feather'].flg).toBe(0x60);
  });

  for (const file of Object.keys(X.files)) {
    it(`${file}: features identical to the .npy, labels identical, LogME equal to the .npy's`, async () => {
      const a = await loadArray(ref(file), { role: 'features' });
      expect(a.shape).toEqual([X.n, X.d]);
      expect(a.data).toBeInstanceOf(Float32Array);
      for (let i = 0; i < F.data.length; i++) {
        if (a.data[i] !== F.data[i]) expect.fail(`${file}: element ${i} (row ${Math.floor(i / X.d)}, column ${i % X.d}) is ${a.data[i]}, expected ${F.data[i]}`);
      }
      const labels = await loadArray(ref(`${file}#label`), { role: 'labels' });
      const t = targetsOf(labels, file);
      if (t.type !== 'classification' || Y.type !== 'classification') throw new Error('not classification');
      expect(Array.from(t.labels)).toEqual(Array.from(Y.labels));
      expectClose(logmeOf(a, file, Y), npyLogme, 1e-12, 1e-14, file);
    });
  }

  it('one corrupt byte inside a polars LZ4 block: an InputError naming the file and the block checksum mismatch', () => {
    const b = bytesOf('df24_polars_lz4.arrow');
    const at = b.findIndex((_, i) => b[i] === 0x04 && b[i + 1] === 0x22 && b[i + 2] === 0x4d && b[i + 3] === 0x18);
    b[at + 7 + 4 + 20] ^= 0x01; // header (7 bytes), block size (4), then the block's data
    expect(() => readArrowFeatures(b, 'corrupt_polars.arrow')).toThrow(
      /^corrupt_polars\.arrow: corrupt or truncated Arrow IPC file \(Feather v2\): expected readable Arrow data, found an error while decoding it \(LZ4 frame: block checksum mismatch in block 1 \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)\)$/,
    );
  });
});

// ---------------------------------------------------------------------------

describe('bad files: an InputError naming the file and selector, what was expected and what was found', () => {
  const cases: [string, RegExp, LoadOptions?][] = [
    ['bad_truncated.feather', /truncated Arrow IPC file.*expected the footer and the closing ARROW1 magic/],
    ['bad_corrupt.feather', /corrupt or truncated Arrow IPC file.*expected valid Arrow metadata.*expected \d+ metadata bytes, found \d+/],
    ['bad_truncated.arrows', /corrupt or truncated Arrow IPC stream.*expected a \d+-byte body, found \d+ bytes/],
    ['bad_notnpz.zip', /expected an \.npz archive of \.npy arrays, found a zip without any \(entries: readme\.txt\)/],
    ['bad_truncated.npz', /corrupt or truncated \.npz.*expected a zip end-of-central-directory record.*found none/],
    ['bad_ragged.arrow', /ragged List column 'embedding': row 2 has 2 values, row 0 has 3; expected every row to have the same length/],
    ['bad_strings.feather', /expected a FixedSizeList or List column of floats, or numeric columns.*found embedding \(Utf8\)/],
    ['bad_strings.feather#embedding', /column 'embedding' is Utf8; expected a numeric feature column/],
    ['features_plain.feather#nope', /no column 'nope'; expected one of the columns: embedding \(FixedSizeList\[16\]<Float32>\), label \(Utf8\)/],
    ['features_plain.feather#label', /column 'label' is Utf8; expected a numeric feature column/],
    ['features_columns.arrows#f0,nope', /no column 'nope'; expected one of the columns: f0 \(Float32\)/],
    ['labels_str.feather#nope', /no column 'nope'; expected one of the columns: label \(Utf8\)/, { role: 'labels' }],
    ['bundle_stored.npz#nope', /no key 'nope' in bundle_stored\.npz; keys: features, labels, logits/],
    ['labels.csv#nope', /no column 'nope'; expected one of the header's columns: 'id', 'label'/, { role: 'labels' }],
    ['labels.csv', /expected features in a binary format.*found a text file \(\.csv\): text is read for labels only/],
    ['labels.txt', /expected source-head outputs in a binary format.*found a text file/, { role: 'probs' }],
    ['features_f8.npy#x', /a \.npy file holds one array; remove the selector '#x'/],
    ['model.pt', /expected a NumPy or Arrow file, found a PyTorch file; convert it first: .*np\.save\('out\.npy', torch\.load\('in\.pt'\)/],
    ['legacy.pth', /found a PyTorch file; convert it first: .*np\.save/],
    ['does_not_exist.npy', /file not found/],
  ];
  for (const [spec, pattern, opts] of cases) {
    it(`${spec}${opts?.role ? ` (${opts.role})` : ''}`, async () => {
      const t0 = performance.now();
      const err = await loadError(spec, opts);
      expect(performance.now() - t0).toBeLessThan(5000);
      const where = describeRef(ref(spec));
      expect(err.message.startsWith(`${where}: `)).toBe(true);
      expect(err.message).toMatch(pattern);
      expect(err.message).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it('a features role on a labels-only npz lists its keys', async () => {
    const p = tmpFile('only_probs.npz', zip([{ name: 'a.npy', data: bytesOf('labels.npy') }, { name: 'b.npy', data: bytesOf('labels.npy') }]));
    const err = await inputError(() => loadArray({ path: p }));
    expect(err.message).toMatch(/expected a key 'features' or a single array for the features, found keys: a, b; choose one with only_probs\.npz#KEY/);
  });

  it('other formats get a hint: Feather v1, Parquet, gzip, unknown bytes', async () => {
    const v1 = tmpFile('old.feather', 'FEA1\x00\x00\x00\x00xxxxxxxxFEA1');
    expect((await inputError(() => loadArray({ path: v1 }))).message).toMatch(/found the old Feather v1 format; rewrite it/);
    const pq = tmpFile('t.parquet', 'PAR1\x00\x00\x00\x00PAR1');
    expect((await inputError(() => loadArray({ path: pq }))).message).toMatch(/found Parquet \(not supported yet\); convert it/);
    const gz = tmpFile('f.npy.gz', new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    expect((await inputError(() => loadArray({ path: gz }))).message).toMatch(/found gzip-compressed data/);
    const junk = tmpFile('junk.bin', 'hello world');
    expect((await inputError(() => loadArray({ path: junk }))).message).toMatch(/expected one of the supported formats \(.*\), found bytes "hello wo"\.\.\. in a '\.bin' file/);
    const empty = tmpFile('empty.feather', '');
    expect((await inputError(() => loadArray({ path: empty }))).message).toMatch(/expected an Arrow IPC file.*found an empty file/);
  });

  it('nulls in a feature column name the row and column', () => {
    const values = makeData({ type: new Float32(), length: 6, data: new Float32Array([1, 2, 3, 4, 5, 6]), nullBitmap: new Uint8Array([0b111011]) });
    const list = makeData({ type: new FixedSizeList(2, new Field('item', new Float32(), true)), length: 3, nullCount: 0, child: values });
    const bytes = tableToIPC(new Table({ emb: makeVector(list) }), 'file');
    expect(() => readArrowFeatures(bytes, 'nulls.arrow')).toThrow(/column 'emb' has a null value at row 1, dimension 0/);
    const col = tableToIPC(new Table({ a: vectorFromArray([1, 2, null], new Float64()), b: vectorFromArray([1, 2, 3], new Float64()) }), 'stream');
    expect(() => readArrowFeatures(col, 'nulls.arrows')).toThrow(/nulls\.arrows: column 'a' has a null at row 2/);
  });

  it('corrupt and truncated files never hang: a seeded fuzz of every binary format', () => {
    const files = ['features_plain.feather', 'features_lz4.feather', 'features_zstd.feather', 'features_list.arrow', 'features_columns.arrows', 'labels_str.feather', 'bundle_deflate.npz', 'bundle_stored.npz', 'df24_polars_lz4.arrow'];
    const rnd = mulberry32(20240611);
    let slowest = 0;
    let failures = 0;
    for (const f of files) {
      const good = bytesOf(f);
      for (let k = 0; k < 60; k++) {
        const b = good.slice();
        let bytes: Uint8Array = b;
        if (k % 3 === 0) for (let j = 0; j < 4; j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        else if (k % 3 === 1) {
          const p = Math.floor(rnd() * b.length);
          b.fill(0xff, p, p + 1 + Math.floor(rnd() * 16));
        } else bytes = b.subarray(0, Math.floor(rnd() * b.length));
        const t0 = performance.now();
        try {
          if (f.endsWith('.npz')) readNpzEntry(bytes, 'features', f);
          else if (f.startsWith('labels')) readArrowLabels(bytes, f);
          else readArrowFeatures(bytes, f);
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          expect(err.message.startsWith(f)).toBe(true);
          failures++;
        }
        slowest = Math.max(slowest, performance.now() - t0);
      }
    }
    expect(failures).toBeGreaterThan(100);
    expect(slowest).toBeLessThan(2000);
  });
});

// ---------------------------------------------------------------------------

describe('stdin (-): an Arrow IPC stream', () => {
  it('reads features from a piped stream in several chunks', async () => {
    const bytes = bytesOf('features_columns.arrows');
    const chunks = [bytes.subarray(0, 100), bytes.subarray(100, 5000), bytes.subarray(5000)].map((c) => Buffer.from(c));
    const a = await loadArray(parseRef('-', DIR), { stdin: Readable.from(chunks) });
    expect(a.shape).toEqual([EXPECTED.n, EXPECTED.d]);
    expect(Array.from(a.data)).toEqual(Array.from(F8.data));
  });

  it('reads labels with a column selector', async () => {
    const a = await loadArray(parseRef('-#label', DIR), { role: 'labels', stdin: Readable.from([Buffer.from(tableToIPC(new Table({ label: vectorFromArray(['b', 'a', 'b']) }), 'stream'))]) });
    expect(isStringArray(a) && a.strings).toEqual(['b', 'a', 'b']);
  });

  it('refuses what is not an Arrow stream, a truncated stream and a terminal', async () => {
    const e1 = await inputError(() => loadArray({ path: '-' }, { stdin: Readable.from([Buffer.from('a,b\n1,2\n')]) }));
    expect(e1.message).toMatch(/^-: expected an Arrow IPC stream on standard input, found bytes "a,b\\x0a1,2\\x0a"/);
    const cut = bytesOf('features_columns.arrows').subarray(0, 3000);
    const e2 = await inputError(() => loadArray({ path: '-' }, { stdin: Readable.from([Buffer.from(cut)]) }));
    expect(e2.message).toMatch(/^-: corrupt or truncated Arrow IPC stream/);
    const tty = Object.assign(Readable.from([]), { isTTY: true });
    const e3 = await inputError(() => loadArray({ path: '-' }, { stdin: tty }));
    expect(e3.message).toMatch(/expected an Arrow IPC stream piped to standard input, found a terminal/);
  });
});

// ---------------------------------------------------------------------------

describe('Arrow layouts', () => {
  const f32 = (xs: number[]): Float32Array => new Float32Array(xs);

  it('numeric columns, one per dimension, skip a label column and a pandas index; ints become float64', () => {
    const t = new Table({
      a: makeVector(f32([1, 2])),
      b: vectorFromArray([3, 4], new Int32()),
      label: vectorFromArray([0, 1], new Int32()),
      __index_level_0__: vectorFromArray([7, 9], new Int32()),
    });
    const a = readArrowFeatures(tableToIPC(t, 'file'), 't.arrow');
    expect(a.shape).toEqual([2, 2]);
    expect(a.data).toBeInstanceOf(Float64Array);
    expect(Array.from(a.data)).toEqual([1, 3, 2, 4]);
    const sel = readArrowFeatures(tableToIPC(t, 'file'), 't.arrow', 'b,a');
    expect(Array.from(sel.data)).toEqual([3, 1, 4, 2]);
  });

  it('several list columns need a selector', () => {
    const mk = (): Vector => makeVector(makeData({ type: new FixedSizeList(1, new Field('item', new Float32())), length: 2, child: makeData({ type: new Float32(), length: 2, data: f32([1, 2]) }) }));
    const bytes = tableToIPC(new Table({ x: mk(), y: mk() }), 'file');
    expect(() => readArrowFeatures(bytes, 'two.arrow')).toThrow(/expected one list column of features, found 2: x, y; choose one with two\.arrow#COLUMN/);
    expect(readArrowFeatures(bytes, 'two.arrow', 'y').shape).toEqual([2, 1]);
  });

  it('float64 lists stay float64; a List read in several batches', () => {
    const child = makeData({ type: new Float64(), length: 4, data: new Float64Array([1, 2, 3, 4]) });
    const list = makeData({ type: new List(new Field('item', new Float64())), length: 2, valueOffsets: new Int32Array([0, 2, 4]), child });
    const v = makeVector(list);
    const t = new Table({ e: v }).concat(new Table({ e: v }));
    const a = readArrowFeatures(tableToIPC(t, 'stream'), 'l.arrows');
    expect(a.data).toBeInstanceOf(Float64Array);
    expect(a.shape).toEqual([4, 2]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
  });

  it('labels: dictionary strings, several columns without label → error listing them, a list column → N × K', () => {
    const dict = new Table({ y: vectorFromArray(['dog', 'cat', 'dog'], new Dictionary(new Utf8(), new Int32())) });
    const a = readArrowLabels(tableToIPC(dict, 'file'), 'd.arrow');
    expect(isStringArray(a) && a.strings).toEqual(['dog', 'cat', 'dog']);
    const two = new Table({ p: vectorFromArray([1, 2], new Float64()), q: vectorFromArray([3, 4], new Float64()) });
    expect(() => readArrowLabels(tableToIPC(two, 'file'), 'two.arrow')).toThrow(
      /two\.arrow: expected a single column or one named 'label' or 'labels', found 2 columns: p \(Float64\), q \(Float64\); choose one with two\.arrow#COLUMN/,
    );
    const multi = readArrowLabels(tableToIPC(two, 'file'), 'two.arrow', 'p,q');
    expect(!isStringArray(multi) && multi.shape).toEqual([2, 2]);
  });

  it('the metadata verifier rejects a schema that claims billions of fields', () => {
    const bytes = bytesOf('features_plain.feather');
    // byte 327 lies in the schema flatbuffer: this flip made apache-arrow exhaust memory before verification
    bytes[327] = 0o107;
    expect(() => verifyArrowIpc(bytes, 'file', 'x.feather')).toThrow(InputError);
    verifyArrowIpc(bytesOf('features_plain.feather'), 'file', 'ok.feather');
    verifyArrowIpc(bytesOf('features_columns.arrows'), 'stream', 'ok.arrows');
  });
});

// ---------------------------------------------------------------------------

interface ZipIn {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
}

function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A minimal zip writer (stored or deflated entries), optionally with zip64 records. */
function zip(entries: ZipIn[], zip64 = false): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = e.deflate ? deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, body);
    const extra = zip64 ? Buffer.alloc(4 + 24) : Buffer.alloc(0);
    if (zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(e.data.length), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(45, 4);
    c.writeUInt16LE(45, 6);
    c.writeUInt16LE(e.deflate ? 8 : 0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(zip64 ? 0xffffffff : body.length, 20);
    c.writeUInt32LE(zip64 ? 0xffffffff : e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    central.push(c, name, extra);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (zip64) {
    const z = Buffer.alloc(56);
    z.writeUInt32LE(0x06064b50, 0);
    z.writeBigUInt64LE(44n, 4);
    z.writeBigUInt64LE(BigInt(entries.length), 24);
    z.writeBigUInt64LE(BigInt(entries.length), 32);
    z.writeBigUInt64LE(BigInt(cd.length), 40);
    z.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(z, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  return new Uint8Array(Buffer.concat([...parts, cd, ...tail, eocd]));
}

describe('.npz reader', () => {
  const npy = bytesOf('features_f4.npy');

  it('lists keys and reads entries written by numpy (zip64 local headers)', () => {
    const bytes = bytesOf('bundle_stored.npz');
    expect(npzKeys(bytes, 'b.npz')).toEqual(['features', 'labels', 'logits']);
    expect(readNpzEntry(bytes, 'labels', 'b.npz').dtype).toBe('<i8');
  });

  it('reads zip64 end records and central directory extras, stored and deflated', () => {
    for (const deflate of [false, true]) {
      const bytes = zip([{ name: 'features.npy', data: npy, deflate }, { name: 'notes.txt', data: new Uint8Array([104, 105]) }], true);
      expect(zipEntries(bytes, 'z.npz').map((e) => e.name)).toEqual(['features.npy', 'notes.txt']);
      const a = readNpzEntry(bytes, 'features', 'z.npz');
      expect(Array.from(a.data)).toEqual(Array.from(F8.data));
    }
  });

  it('a trailing zip comment is skipped', () => {
    const bytes = zip([{ name: 'x.npy', data: npy }]);
    const withComment = new Uint8Array(bytes.length + 5);
    withComment.set(bytes);
    withComment.set([104, 101, 108, 108, 111], bytes.length);
    new DataView(withComment.buffer).setUint16(bytes.length - 2, 5, true);
    expect(npzKeys(withComment, 'c.npz')).toEqual(['x']);
  });

  it('errors name the file and key', () => {
    const bytes = zip([{ name: 'x.npy', data: npy }, { name: 'meta.json', data: new Uint8Array([123, 125]) }]);
    expect(() => readNpzEntry(bytes, 'meta.json', 'm.npz')).toThrow(/^m\.npz#meta\.json: entry 'meta\.json' is not a \.npy array; expected one of the npz keys: x$/);
    expect(() => readNpzEntry(bytes, 'y', 'm.npz')).toThrow(/^m\.npz#y: no key 'y' in m\.npz; keys: x$/);
    const corrupt = bytes.slice();
    corrupt[200] ^= 0xff; // inside the stored entry's data
    expect(() => readNpzEntry(corrupt, 'x', 'm.npz')).toThrow(/m\.npz#x: corrupt or truncated \.npz \(zip\) file: CRC-32 mismatch in entry 'x\.npy'/);
    const deflated = zip([{ name: 'x.npy', data: npy, deflate: true }]);
    const bad = deflated.slice();
    bad.fill(0xff, 40, 60);
    expect(() => readNpzEntry(bad, 'x', 'd.npz')).toThrow(/^d\.npz#x: corrupt or truncated \.npz \(zip\) file: (cannot inflate|entry 'x\.npy' should hold|CRC-32)/);
    expect(() => zipEntries(new Uint8Array(10), 'tiny.npz')).toThrow(/expected at least 22 bytes, found 10/);
  });

  it('an unsupported compression method is named', () => {
    const bytes = zip([{ name: 'x.npy', data: npy }]);
    const dv = new DataView(bytes.buffer);
    const cd = dv.getUint32(bytes.length - 6, true);
    dv.setUint16(cd + 10, 14, true);
    expect(() => readNpzEntry(bytes, 'x', 'l.npz')).toThrow(/compression method 14 \(lzma\); expected stored \(0\) or deflate \(8\)/);
  });

  it('loadNpzBundle: the complete-model layout in one read; null for other files', async () => {
    const b = await loadNpzBundle(path.join(DIR, 'bundle_deflate.npz'));
    expect(b?.keys).toEqual(['features', 'labels', 'logits']);
    expect(b?.features?.shape).toEqual([EXPECTED.n, EXPECTED.d]);
    expect(b?.labels?.shape).toEqual([EXPECTED.n]);
    expect(b?.probs?.shape).toEqual([EXPECTED.n, 5]);
    expect(b?.probsKey).toBe('logits');
    expect(await loadNpzBundle(path.join(DIR, 'features_f8.npy'))).toBeNull();
    expect(await loadNpzBundle(path.join(DIR, 'model.pt'))).toBeNull();
    await expect(loadNpzBundle(path.join(DIR, 'bad_truncated.npz'))).rejects.toThrow(InputError);
  });
});

// ---------------------------------------------------------------------------

describe('text labels', () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const read = (s: string, file: string, column?: string): LoadedArray => readTextLabels(enc(s), file, column);

  it('CSV: quoted fields (RFC 4180), CRLF, BOM, blank trailing line', () => {
    const a = read('\ufeffid,label\r\n1,"big, ""red"" dog"\r\n2,"multi\nline"\r\n3,cat\r\n\r\n', 'l.csv');
    expect(isStringArray(a) && a.strings).toEqual(['big, "red" dog', 'multi\nline', 'cat']);
    expect(parseCsv('a,b\n"x",  y \n', ',', 's').map((r) => r.fields)).toEqual([['a', 'b'], ['x', 'y']]);
  });

  it('CSV: a column by name, the only column, a numeric header-less file (np.savetxt)', () => {
    const a = read('name,score,label\nx,0.5,1\ny,0.25,0\n', 'g.csv', 'score');
    expect(!isStringArray(a) && Array.from(a.data)).toEqual([0.5, 0.25]);
    const b = read('name,score,label\nx,0.5,1\ny,0.25,0\n', 'g.csv');
    expect(!isStringArray(b) && Array.from(b.data)).toEqual([1, 0]);
    const c = read('3.000000000000000000e+00\n1.000000000000000000e+00\n', 'savetxt.csv');
    expect(!isStringArray(c) && Array.from(c.data)).toEqual([3, 1]);
    const d = read('y\n2\n1\n', 'one.csv');
    expect(!isStringArray(d) && Array.from(d.data)).toEqual([2, 1]);
    const t = read('id\tlabel\n1\tcat\n', 't.tsv');
    expect(isStringArray(t) && t.strings).toEqual(['cat']);
    const m = read('a,b,c\n1,0,1\n0,1,1\n', 'm.csv', 'a,c');
    expect(!isStringArray(m) && m.shape).toEqual([2, 2]);
  });

  it('one value per line: numbers or names', () => {
    const a = read('cat\r\ndog\r\n', 'l.txt');
    expect(isStringArray(a) && a.strings).toEqual(['cat', 'dog']);
    const b = read('1\n-2\n3e0\n\n', 'l.txt');
    expect(!isStringArray(b) && Array.from(b.data)).toEqual([1, -2, 3]);
  });

  it('errors name the file, the line and what was expected', () => {
    expect(() => read('id,x\n1,2\n', 'g.csv')).toThrow(/^g\.csv: expected a single column or one named 'label' or 'labels', found 2 columns: 'id', 'x'; choose one with g\.csv#COLUMN$/);
    expect(() => read('id,label\n1,a\n2\n', 'g.csv')).toThrow(/expected 2 fields on every row \(as in the header\), found 1 on line 3/);
    expect(() => read('label\n"open\n', 'q.csv')).toThrow(/expected a closing quote for the field opened at line 2/);
    expect(() => read('1\n\n2\n', 'l.txt')).toThrow(/expected a value on every row, found an empty one at line 2/);
    expect(() => read('1\n', 'l.txt', 'label')).toThrow(/^l\.txt#label: a text file with one value per line has no columns/);
    expect(() => read('', 'e.csv')).toThrow(/e\.csv: expected a header row and values, found an empty file/);
    expect(() => readTextLabels(new Uint8Array([0x93, 0x4e, 0, 1]), 'bin.txt')).toThrow(/expected a text file.*found binary data/);
  });
});

// ---------------------------------------------------------------------------

describe('loader helpers', () => {
  it('sniff: magic numbers', () => {
    expect(sniff(bytesOf('features_f8.npy'))).toBe('npy');
    expect(sniff(bytesOf('bundle_stored.npz'))).toBe('zip');
    expect(sniff(bytesOf('legacy.pth'))).toBe('pickle');
    expect(sniff(bytesOf('features_plain.feather'))).toBe('arrow-file');
    expect(sniff(bytesOf('features_columns.arrows'))).toBe('arrow-stream');
    expect(sniff(bytesOf('labels.csv'))).toBe('unknown');
  });

  it('expandDirectory lists every model format, not labels or PyTorch files', async () => {
    const files = (await expandDirectory(DIR))!.files.map((f) => path.basename(f));
    for (const f of ['bundle_stored.npz', 'features_plain.feather', 'features_list.arrow', 'features_columns.arrows', 'features_f8.npy']) expect(files).toContain(f);
    for (const f of ['labels.csv', 'labels.txt', 'model.pt', 'legacy.pth', 'expected.json']) expect(files).not.toContain(f);
  });

  it('asMatrix refuses strings', () => {
    expect(() => asMatrix({ strings: ['a'], shape: [1], dtype: 'string' }, 'features', 'x.arrow')).toThrow(/features: expected numbers, found strings/);
  });
});
