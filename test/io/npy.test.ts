import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { mulberry32 } from '../helpers/random.js';
import { InputError } from '../../src/core/errors.js';
import { halfToFloat, parseNpy, parseNpyHeader, parseNpyLabels } from '../../src/io/npy.js';
import { loadArray } from '../../src/io/load.js';

const loadNpy = (file: string) => loadArray({ path: file });

const NPY_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/npy');

interface Expected {
  version?: [number, number];
  dtype?: string;
  shape?: number[];
  fortran_order?: boolean;
  values?: (number | null | 'inf' | '-inf')[];
  error?: string;
  expected_bytes?: number;
  found_bytes?: number;
}

const EXPECTED = JSON.parse(readFileSync(path.join(NPY_DIR, 'expected.json'), 'utf8')) as Record<string, Expected>;
const VALID = Object.entries(EXPECTED).filter(([, e]) => e.error === undefined);

function fixture(name: string): string {
  return path.join(NPY_DIR, name);
}

/** The file's bytes in a fresh ArrayBuffer at offset 0 (aligned). */
function load(name: string): Uint8Array {
  const b = readFileSync(fixture(name));
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

/** The file's bytes at an odd offset inside a larger buffer (misaligned for every itemsize > 1). */
function loadMisaligned(name: string): Uint8Array {
  const b = readFileSync(fixture(name));
  const out = new Uint8Array(new ArrayBuffer(b.length + 3), 3, b.length);
  out.set(b);
  return out;
}

function toNumbers(vals: Expected['values']): number[] {
  return (vals ?? []).map((v) => (v === null ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v));
}

/** Runs fn and returns the InputError it throws (fails the test on anything else). */
function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

const enc = new TextEncoder();

/** Builds a .npy file from a header text (padded like numpy: total a multiple of 64, ending in '\n'). */
function buildNpy(header: string, data: Uint8Array = new Uint8Array(0), version: 1 | 2 | 3 = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  let h = enc.encode(header);
  const pad = (64 - ((pre + h.length + 1) % 64)) % 64;
  h = enc.encode(header + ' '.repeat(pad) + '\n');
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, h.length, true);
  else dv.setUint32(8, h.length, true);
  out.set(h, pre);
  out.set(data, pre + h.length);
  return out;
}

function f4Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

describe('parseNpy: every fixture variant matches numpy', () => {
  it('has the fixtures', () => {
    expect(VALID.length).toBeGreaterThan(30);
  });

  for (const [name, e] of VALID) {
    it(name, () => {
      const bytes = load(name);
      const a = parseNpy(bytes, fixture(name));
      expect(a.shape).toEqual(e.shape);
      expect(a.dtype).toBe(e.dtype);
      const isHalfOrSingle = /f[24]$/.test(e.dtype ?? '');
      expect(a.data).toBeInstanceOf(isHalfOrSingle ? Float32Array : Float64Array);
      expect(Array.from(a.data)).toEqual(toNumbers(e.values));

      const h = parseNpyHeader(bytes, name);
      expect(h.version).toEqual(e.version);
      expect(h.fortranOrder).toBe(e.fortran_order);
      expect(h.shape).toEqual(e.shape);
      expect(h.dtype).toBe(e.dtype);
      expect(h.dataOffset % 64).toBe(0);
      expect(h.dataOffset + a.data.length * h.itemSize).toBe(bytes.length);
    });
  }
});

describe('parseNpy: layout and copies', () => {
  it('returns a zero-copy view for aligned little-endian C-order f4 and f8', () => {
    for (const name of ['mat_f4_le.npy', 'mat_f8_le.npy', 'vec_f4.npy', 'mat_f4_v2.npy']) {
      const bytes = load(name);
      const a = parseNpy(bytes, name);
      expect(a.data.buffer).toBe(bytes.buffer);
      expect(a.data.byteOffset).toBe(parseNpyHeader(bytes, name).dataOffset);
    }
  });

  it('copies (once) when the data is misaligned, big-endian or Fortran order', () => {
    for (const name of ['mat_f4_be.npy', 'mat_f4_fortran.npy', 'mat_f8_fortran.npy']) {
      const bytes = load(name);
      expect(parseNpy(bytes, name).data.buffer).not.toBe(bytes.buffer);
    }
    const mis = loadMisaligned('mat_f4_le.npy');
    const a = parseNpy(mis, 'mis.npy');
    expect(a.data.buffer).not.toBe(mis.buffer);
    expect(a.data.byteOffset).toBe(0);
  });

  it('reads misaligned data of every dtype the same as aligned data', () => {
    for (const [name, e] of VALID) {
      const a = parseNpy(loadMisaligned(name), name);
      expect(a.shape, name).toEqual(e.shape);
      expect(Array.from(a.data), name).toEqual(toNumbers(e.values));
    }
  });

  it('transposes Fortran order into row-major', () => {
    const c = parseNpy(load('mat_f8_le.npy'), 'c');
    for (const name of ['mat_f8_fortran.npy', 'mat_f8_be_fortran.npy', 'mat_f2_fortran.npy', 'mat_f4_fortran.npy']) {
      expect(Array.from(parseNpy(load(name), name).data)).toEqual(Array.from(c.data));
    }
    // Larger than one 64 × 64 transpose block, not a multiple of it.
    const rows = 70;
    const cols = 131;
    const colMajor = new Float32Array(rows * cols);
    for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) colMajor[j * rows + i] = i * 1000 + j;
    const header = `{'descr': '<f4', 'fortran_order': True, 'shape': (${rows}, ${cols}), }`;
    const a = parseNpy(buildNpy(header, new Uint8Array(colMajor.buffer)), 'big.npy');
    expect(a.shape).toEqual([rows, cols]);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) expect(a.data[i * cols + j]).toBe(i * 1000 + j);
  });

  it('decodes every float16 bit pattern exactly', () => {
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24);
    expect(halfToFloat(0x0400)).toBe(2 ** -14);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    // Monotone over the positive finite patterns, and each value survives float32.
    let prev = -1;
    const bad: number[] = [];
    for (let h = 0; h < 0x7c00; h++) {
      const v = halfToFloat(h);
      if (!(v > prev) || Math.fround(v) !== v || !Object.is(halfToFloat(h | 0x8000), -v)) bad.push(h);
      prev = v;
    }
    expect(bad).toEqual([]);
  });

  it('accepts a bool array with bytes other than 0 and 1 as truthy', () => {
    const a = parseNpy(buildNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", new Uint8Array([0, 1, 2, 255])), 'b.npy');
    expect(Array.from(a.data)).toEqual([0, 1, 1, 1]);
  });

  it('ignores bytes after the data, like numpy', () => {
    const a = parseNpy(buildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4Bytes([1, 2, 3])), 'x.npy');
    expect(Array.from(a.data)).toEqual([1, 2]);
  });
});

describe('parseNpyHeader: the Python literal', () => {
  const data = f4Bytes([1.5, -2, 3, 4, 5, 6]);

  it('accepts valid variations of the header dict', () => {
    const headers = [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
      "{'descr':'<f4','fortran_order':False,'shape':(2,3)}",
      '{"shape": (2, 3), "fortran_order": False, "descr": "<f4"}',
      "{ 'descr' : '<f4' ,\n 'fortran_order' : False ,\t'shape' : ( 2 , 3 , ) }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", // Python 2 longs
      "{u'descr': u'<f4', 'fortran_order': False, 'shape': [2, 3]}",
    ];
    for (const h of headers) {
      const a = parseNpy(buildNpy(h, data), 'h.npy');
      expect(a.shape, h).toEqual([2, 3]);
      expect(Array.from(a.data), h).toEqual([1.5, -2, 3, 4, 5, 6]);
    }
    const v1 = parseNpyHeader(buildNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }", data), 'x');
    expect(v1).toEqual({
      version: [1, 0],
      dtype: '<f4',
      fortranOrder: true,
      shape: [6],
      dataOffset: 128,
      itemSize: 4,
      littleEndian: true,
      kind: 'f',
    });
    const v3 = parseNpyHeader(buildNpy("{'descr': '>u2', 'fortran_order': False, 'shape': (), }", new Uint8Array(2), 3), 'x');
    expect(v3).toMatchObject({ version: [3, 0], shape: [], itemSize: 2, littleEndian: false, kind: 'u' });
    for (const [descr, kind, size] of [
      ['=i8', 'i', 8],
      ['|u1', 'u', 1],
      ['|b1', 'b', 1],
      ['<f2', 'f', 2],
      ['|i1', 'i', 1],
    ] as const) {
      const h = parseNpyHeader(buildNpy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (0,), }`), 'x');
      expect(h.kind).toBe(kind);
      expect(h.itemSize).toBe(size);
    }
  });

  const malformed: [string, RegExp][] = [
    ["{'descr': '<f4', 'fortran_order': False}", /expected the keys 'descr', 'fortran_order', 'shape', found 'descr', 'fortran_order'/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", /found 'descr', 'extra', 'fortran_order', 'shape'/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", /expected 'shape' to be a tuple of integers, found "2"/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", /non-negative integers, found "\(-2,\)"/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }", /expected/],
    ["{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", /expected 'fortran_order' to be True or False, found "0"/],
    ["{'descr': '<f4', 'fortran_order': false, 'shape': (2,), }", /expected a value .* at character 34, found "false, 'shap"/],
    ["{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", /expected ':'|expected ',' or '}'/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", /expected a value|found end of header/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", /expected end of header/],
    ["['descr', '<f4']", /expected a dict, found/],
    ["{1: '<f4'}", /expected string keys/],
    ["{'descr': 5, 'fortran_order': False, 'shape': (2,), }", /expected 'descr' to be a dtype string such as '<f4', found 5/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", /non-negative integers/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(5000)}${')'.repeat(5000)}}`, /levels of nesting/],
    ["", /expected a value at character \d+, found end of header/],
  ];
  for (const [header, re] of malformed) {
    it(`refuses ${JSON.stringify(header.slice(0, 70))}`, () => {
      const err = inputError(() => parseNpy(buildNpy(header, data), 'bad.npy'));
      expect(err.message).toMatch(/^bad\.npy: /);
      expect(err.message).toMatch(re);
    });
  }

  it('refuses unsupported dtypes, naming them', () => {
    for (const [descr, re] of [
      ['<f16', /unsupported dtype '<f16' \(extended precision float\); expected one of f2 f4 f8/],
      ['<c16', /unsupported dtype '<c16' \(complex\)/],
      ['<M8[ns]', /unsupported dtype '<M8\[ns\]'/],
      ['<i3', /unsupported dtype '<i3'; expected one of/],
      ['float32', /unsupported dtype 'float32'/],
    ] as const) {
      const err = inputError(() => parseNpyHeader(buildNpy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (1,), }`), 'd.npy'));
      expect(err.message).toMatch(re);
    }
  });

  it('reads unicode and byte string arrays as class names for labels only', () => {
    const body = (items: string[], width: number): Uint8Array => {
      const b = new Uint8Array(items.length * width * 4);
      const dv = new DataView(b.buffer);
      items.forEach((s, i) => Array.from(s).forEach((ch, k) => dv.setUint32((i * width + k) * 4, ch.codePointAt(0)!, true)));
      return b;
    };
    const u = buildNpy("{'descr': '<U5', 'fortran_order': False, 'shape': (3,), }", body(['cat', 'dög', 'mouse'], 5));
    expect(parseNpyLabels(u, 'u.npy')).toEqual({ strings: ['cat', 'dög', 'mouse'], shape: [3], dtype: 'string' });
    expect(inputError(() => parseNpy(u, 'u.npy')).message).toMatch(/expected a numeric array, found strings \(dtype '<U5'\)/);
    const s = buildNpy("{'descr': '|S4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array([0x63, 0x61, 0x74, 0, 0x62, 0x69, 0x72, 0x64]));
    expect(parseNpyLabels(s, 's.npy')).toMatchObject({ strings: ['cat', 'bird'] });
    const two = buildNpy("{'descr': '<U2', 'fortran_order': False, 'shape': (1, 1), }", body(['ab'], 2));
    expect(inputError(() => parseNpyLabels(two, 'two.npy')).message).toMatch(/expected a 1-D array of class names, found shape \(1, 1\)/);
  });

  it('refuses unknown format versions and invalid UTF-8 in a version 3 header', () => {
    const b = buildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f4Bytes([1]));
    b[6] = 4;
    expect(inputError(() => parseNpy(b, 'v.npy')).message).toMatch(/unsupported \.npy format version 4\.0; expected 1\.0, 2\.0 or 3\.0/);
    b[6] = 1;
    b[7] = 1;
    expect(inputError(() => parseNpy(b, 'v.npy')).message).toMatch(/version 1\.1/);
    const v3 = buildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f4Bytes([1]), 3);
    v3[14] = 0xff;
    expect(inputError(() => parseNpy(v3, 'v3.npy')).message).toMatch(/expected UTF-8 text .* found invalid UTF-8/);
  });
});

describe('parseNpy: refused fixtures', () => {
  function err(name: string): string {
    const e = inputError(() => parseNpy(load(name), fixture(name)));
    expect(e.message).toContain(fixture(name));
    expect(e.file).toBe(fixture(name));
    expect(e.message).not.toMatch(/\n\s+at /); // no stack trace in the message
    return e.message;
  }

  it('truncated data names expected and found byte counts', () => {
    const e = EXPECTED['truncated.npy'];
    expect(err('truncated.npy')).toMatch(
      new RegExp(`truncated data: expected ${e.expected_bytes} bytes for shape \\(7, 5\\) of dtype '<f4' \\(4 bytes each\\), found ${e.found_bytes}`),
    );
  });

  it('wrong magic shows the bytes found', () => {
    expect(err('wrong_magic.npy')).toContain("not a .npy file: expected magic \\x93NUMPY, found 'PK\\x03\\x04PY\\x01\\x00'...");
  });

  it('an empty file', () => {
    expect(err('empty.npy')).toMatch(/not a \.npy file: expected magic \\x93NUMPY, found an empty file \(0 bytes\)/);
  });

  it('a header cut short', () => {
    expect(err('header_cut.npy')).toMatch(/truncated \.npy header: expected 118 header bytes, found 10 \(file is 20 bytes\)/);
  });

  it('an object array, with the np.save hint', () => {
    const m = err('object.npy');
    expect(m).toMatch(/expected a numeric array, found an object array \(dtype '\|O'\)/);
    expect(m).toContain('pickled');
    expect(m).toContain('np.save(path, arr.astype(np.float32))');
  });

  it('a 3-D array', () => {
    expect(err('cube_f4.npy')).toContain('expected a 1-D or 2-D array, found shape (2, 3, 4)');
  });

  it('a 0-D array', () => {
    expect(err('scalar_f8.npy')).toContain('expected a 1-D or 2-D array, found shape () (a 0-D scalar)');
  });

  it('structured dtypes, naming the dtype (UTF-8 field name in a version 3.0 header)', () => {
    expect(err('structured.npy')).toContain(`unsupported structured dtype ${EXPECTED['structured.npy'].dtype}`);
    expect(err('structured_utf8_v3.npy')).toContain(`unsupported structured dtype ${EXPECTED['structured_utf8_v3.npy'].dtype}`);
    expect(err('structured_utf8_v3.npy')).toContain('\u03a3');
  });

  it('a complex dtype', () => {
    expect(err('complex_c8.npy')).toMatch(/unsupported dtype '<c8' \(complex\); expected one of f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1/);
  });

  it('short prefixes of the magic and preamble', () => {
    const good = load('mat_f4_le.npy');
    for (let n = 1; n < 10; n++) {
      expect(inputError(() => parseNpy(good.subarray(0, n), 's.npy')).message).toMatch(/^s\.npy: truncated \.npy header: expected at least 10 bytes/);
    }
    expect(inputError(() => parseNpy(new Uint8Array([0x93, 0x4e, 0x55]), 's.npy')).message).toMatch(/found 3 bytes/);
    expect(inputError(() => parseNpy(new Uint8Array([0x0a]), 's.npy')).message).toContain("found '\\x0a'");
  });
});

describe('parseNpy: fuzzing', () => {
  function mustParseOrInputError(bytes: Uint8Array, label: string): 'ok' | 'error' {
    try {
      const a = parseNpy(bytes, 'fuzz.npy');
      let n = 1;
      for (const d of a.shape) n *= d;
      expect(a.data.length, label).toBe(n);
      return 'ok';
    } catch (err) {
      if (!(err instanceof InputError)) throw new Error(`${label}: threw ${String(err)}`);
      expect(err.message.startsWith('fuzz.npy: '), label).toBe(true);
      return 'error';
    }
  }

  it('random mutations, truncations and garbage either parse or throw InputError', () => {
    const rand = mulberry32(12345);
    const sources = ['mat_f4_le.npy', 'mat_i8_be.npy', 'mat_f2_fortran.npy', 'mat_f8_v3.npy', 'vec_b1.npy', 'mat_i4_fortran_v2.npy'].map(load);
    const counts = { ok: 0, error: 0 };
    const start = Date.now();
    for (let iter = 0; iter < 600; iter++) {
      const src = sources[iter % sources.length];
      let b = src.slice();
      const mode = iter % 5;
      if (mode === 4) {
        // flip bytes in the data only: must still parse
        const off = parseNpyHeader(src, 'src').dataOffset;
        for (let f = 0; f < 8; f++) b[off + Math.floor(rand() * (b.length - off))] = Math.floor(rand() * 256);
        expect(mustParseOrInputError(b, `iteration ${iter}`)).toBe('ok');
        counts.ok++;
        continue;
      } else if (mode === 0) {
        // flip a few bytes, mostly in the header
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) {
          const pos = Math.floor(rand() * (rand() < 0.8 ? Math.min(b.length, 128) : b.length));
          b[pos] = Math.floor(rand() * 256);
        }
      } else if (mode === 1) {
        b = b.slice(0, Math.floor(rand() * b.length));
      } else if (mode === 2) {
        // replace one header character with a character from the literal syntax
        const chars = "(){}[],:'\" 0123456789-LTFN\\\n";
        const pos = 10 + Math.floor(rand() * 60);
        if (pos < b.length) b[pos] = chars.charCodeAt(Math.floor(rand() * chars.length));
      } else {
        // magic and version kept, the rest random
        const len = Math.floor(rand() * 200);
        b = new Uint8Array(len);
        for (let i = 0; i < len; i++) b[i] = Math.floor(rand() * 256);
        b.set(src.subarray(0, Math.min(len, 8)));
        if (len > 9 && rand() < 0.5) {
          b[8] = Math.floor(rand() * Math.max(1, len - 10));
          b[9] = 0;
        }
      }
      counts[mustParseOrInputError(b, `iteration ${iter}`)]++;
    }
    expect(counts.ok + counts.error).toBe(600);
    expect(counts.error).toBeGreaterThan(100);
    expect(counts.ok).toBeGreaterThanOrEqual(120);
    expect(Date.now() - start).toBeLessThan(20_000);
  });
});

describe('loading a .npy file from disk', () => {
  it('reads a file, aligned, without copying the data', async () => {
    const a = await loadNpy(fixture('mat_f4_le.npy'));
    const e = EXPECTED['mat_f4_le.npy'];
    expect(a.shape).toEqual(e.shape);
    expect(Array.from(a.data)).toEqual(toNumbers(e.values));
    expect(a.data.buffer.byteLength).toBe(readFileSync(fixture('mat_f4_le.npy')).length);
  });

  it('a missing path is an InputError "file not found" naming the path', async () => {
    const missing = fixture('does-not-exist.npy');
    const err = await loadNpy(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toBe(`${missing}: file not found`);
  });

  it('a directory is an InputError', async () => {
    const err = await loadNpy(NPY_DIR).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toBe(`${NPY_DIR}: expected a file, found a directory`);
  });

  it('a corrupt file is an InputError naming the file', async () => {
    const err = await loadNpy(fixture('truncated.npy')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toContain(`${fixture('truncated.npy')}: truncated data`);
  });
});
