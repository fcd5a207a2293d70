/**
 * Reader for NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
 *
 * Layout, per the NumPy format description: the magic string `\x93NUMPY`, a
 * major and a minor version byte, the header length (little-endian u16 for
 * version 1, u32 for versions 2 and 3), then the header itself: a Python dict
 * literal with the keys `descr`, `fortran_order` and `shape`, padded with
 * spaces and ended by a newline (latin1 for versions 1 and 2, UTF-8 for 3).
 * The raw array data follows the header.
 *
 * The module is pure: it parses bytes and never touches the file system
 * (see read-file.ts and load.ts for that). Every failure is an InputError that names the
 * source, what was expected and what was found.
 */
import { InputError } from '../core/errors.js';
import type { FloatArray, LoadedArray, NdArray } from '../core/types.js';

export interface NpyHeader {
  version: [number, number];
  /** The `descr` string as written in the file, e.g. `<f4`. */
  dtype: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the array data from the start of the file. */
  dataOffset: number;
  itemSize: number;
  littleEndian: boolean;
  kind: 'f' | 'i' | 'u' | 'b' | 'U' | 'S';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] as const;
const SUPPORTED = 'f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1';
const MAX_DEPTH = 32;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------
// Small helpers for messages

/** Renders bytes like a Python bytes literal body: printable ASCII as is, the rest as \xNN. */
function showBytes(b: Uint8Array, max = 8): string {
  let s = '';
  const n = Math.min(b.length, max);
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c >= 0x20 && c < 0x7f && c !== 0x5c && c !== 0x27) s += String.fromCharCode(c);
    else if (c === 0x5c) s += '\\\\';
    else if (c === 0x27) s += "\\'";
    else s += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return `'${s}'${b.length > max ? '...' : ''}`;
}

/** Shows a piece of header text, with control characters escaped and long text cut. */
function showText(s: string, max = 120): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  const esc = cut.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `"${esc}${s.length > max ? '...' : ''}"`;
}

/** Cuts long text for a message. */
function clip(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

/** Python repr of a shape tuple: `()`, `(3,)`, `(2, 3)`. */
export function formatShape(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------
// Python literal parser (the subset numpy writes: dicts, tuples, lists,
// strings, integers, True/False/None)

interface PyTuple {
  readonly type: 'tuple';
  readonly items: PyValue[];
}
interface PyList {
  readonly type: 'list';
  readonly items: PyValue[];
}
interface PyDict {
  readonly type: 'dict';
  readonly entries: [PyValue, PyValue][];
}
type PyValue = string | number | boolean | null | PyTuple | PyList | PyDict;

class LiteralError extends Error {}

function isObj(v: PyValue): v is PyTuple | PyList | PyDict {
  return typeof v === 'object' && v !== null;
}

/** Python-like repr, used to show what was found. */
function repr(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (v.type === 'tuple') return v.items.length === 1 ? `(${repr(v.items[0])},)` : `(${v.items.map(repr).join(', ')})`;
  if (v.type === 'list') return `[${v.items.map(repr).join(', ')}]`;
  return `{${v.entries.map(([k, x]) => `${repr(k)}: ${repr(x)}`).join(', ')}}`;
}

class LiteralParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseAll(): PyValue {
    const v = this.value(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail('end of header (only spaces and a newline after the dict)');
    return v;
  }

  private fail(expected: string): never {
    const found =
      this.pos >= this.text.length ? 'end of header' : showText(this.text.slice(this.pos, this.pos + 12), 12);
    throw new LiteralError(`expected ${expected} at character ${this.pos}, found ${found}`);
  }

  private skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c || c === 0x0b) this.pos++;
      else break;
    }
  }

  private value(depth: number): PyValue {
    if (depth > MAX_DEPTH) this.fail(`at most ${MAX_DEPTH} levels of nesting`);
    this.skipSpace();
    const t = this.text;
    if (this.pos >= t.length) this.fail('a value');
    const c = t[this.pos];
    if (c === '{') return this.dict(depth);
    if (c === '(') {
      const seq = this.sequence(')', depth);
      // `(x)` without a comma is just x in parentheses, as in Python.
      if (seq.items.length === 1 && !seq.comma) return seq.items[0];
      return { type: 'tuple', items: seq.items };
    }
    if (c === '[') return { type: 'list', items: this.sequence(']', depth).items };
    if (c === "'" || c === '"') return this.string();
    if (/[uUbBrR]/.test(c) && (t[this.pos + 1] === "'" || t[this.pos + 1] === '"')) {
      this.pos++;
      return this.string();
    }
    if (c === '-' || c === '+' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (t.startsWith(word, this.pos) && !/[A-Za-z0-9_]/.test(t[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return v;
      }
    }
    this.fail('a value (dict, tuple, list, string, integer, True, False or None)');
  }

  private dict(depth: number): PyDict {
    this.pos++; // '{'
    const entries: [PyValue, PyValue][] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return { type: 'dict', entries };
      }
      const key = this.value(depth + 1);
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail("':'");
      this.pos++;
      const val = this.value(depth + 1);
      entries.push([key, val]);
      this.skipSpace();
      const d = this.text[this.pos];
      if (d === ',') this.pos++;
      else if (d !== '}') this.fail("',' or '}'");
    }
  }

  /** Parses `(...)` or `[...]`; `comma` tells whether the last item was followed by a comma. */
  private sequence(close: ')' | ']', depth: number): { items: PyValue[]; comma: boolean } {
    this.pos++; // opener
    const items: PyValue[] = [];
    let comma = false;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        break;
      }
      items.push(this.value(depth + 1));
      this.skipSpace();
      const d = this.text[this.pos];
      if (d === ',') {
        this.pos++;
        comma = true;
      } else if (d !== close) {
        this.fail(`',' or '${close}'`);
      } else {
        comma = false;
      }
    }
    return { items, comma };
  }

  private string(): string {
    const t = this.text;
    const quote = t[this.pos];
    this.pos++;
    let out = '';
    for (;;) {
      if (this.pos >= t.length) this.fail(`closing ${quote}`);
      const c = t[this.pos];
      if (c === quote) {
        this.pos++;
        return out;
      }
      if (c === '\n') this.fail(`closing ${quote} before the end of the line`);
      if (c === '\\') {
        const e = t[this.pos + 1];
        if (e === undefined) this.fail('an escape character');
        this.pos += 2;
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case '0':
            out += '\0';
            break;
          case 'x':
          case 'u': {
            const len = e === 'x' ? 2 : 4;
            const hex = t.slice(this.pos, this.pos + len);
            if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) this.fail(`${len} hex digits after \\${e}`);
            out += String.fromCharCode(parseInt(hex, 16));
            this.pos += len;
            break;
          }
          default:
            out += e;
        }
        continue;
      }
      out += c;
      this.pos++;
    }
  }

  private number(): number {
    const t = this.text;
    const m = /^[-+]?[0-9]+[lL]?/.exec(t.slice(this.pos, this.pos + 64));
    if (!m) this.fail('an integer');
    const next = t[this.pos + m[0].length] ?? '';
    if (/[0-9A-Za-z_.]/.test(next)) this.fail('an integer');
    this.pos += m[0].length;
    return Number(m[0].replace(/[lL]$/, ''));
  }
}

// ---------------------------------------------------------------------------
// dtype descriptors

interface DtypeInfo {
  kind: 'f' | 'i' | 'u' | 'b' | 'U' | 'S';
  itemSize: number;
  littleEndian: boolean;
}

const DTYPE_NAMES: Record<string, string> = {
  c: 'complex',
  U: 'unicode string',
  S: 'byte string',
  a: 'byte string',
  V: 'raw bytes (void)',
  M: 'datetime64',
  m: 'timedelta64',
};

function parseDescr(descr: PyValue, source: string): DtypeInfo {
  if (typeof descr !== 'string') {
    if (isObj(descr) && descr.type === 'list') {
      throw new InputError(
        `unsupported structured dtype ${clip(repr(descr))}; expected a plain numeric array with one of the dtypes ${SUPPORTED}`,
        source,
      );
    }
    throw new InputError(
      `malformed .npy header: expected 'descr' to be a dtype string such as '<f4', found ${clip(repr(descr))}`,
      source,
    );
  }
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)$/.exec(descr);
  const order = m?.[1] ?? '';
  const code = m?.[2] ?? '';
  if (code === 'O') {
    throw new InputError(
      `expected a numeric array, found an object array (dtype '${descr}'): it holds pickled Python objects, which are not read. ` +
        'Save a numeric array instead: np.save(path, arr.astype(np.float32))',
      source,
    );
  }
  if (m) {
    const size = m[3] === '' ? (code === '?' ? 1 : NaN) : Number(m[3]);
    const le = order === '<' ? true : order === '>' ? false : HOST_LITTLE_ENDIAN;
    const ok =
      (code === 'f' && (size === 2 || size === 4 || size === 8)) ||
      ((code === 'i' || code === 'u') && (size === 1 || size === 2 || size === 4 || size === 8)) ||
      ((code === 'b' || code === '?') && size === 1);
    if (ok) {
      const kind = code === '?' ? 'b' : (code as 'f' | 'i' | 'u' | 'b');
      return { kind, itemSize: size, littleEndian: le };
    }
    // Strings, for class names: '<U5' holds 5 UTF-32 code units per element, '|S5' 5 bytes.
    if ((code === 'U' || code === 'S' || code === 'a') && Number.isInteger(size) && size >= 1) {
      return code === 'U' ? { kind: 'U', itemSize: 4 * size, littleEndian: le } : { kind: 'S', itemSize: size, littleEndian: le };
    }
  }
  const extended = code === 'f' && (m?.[3] === '12' || m?.[3] === '16');
  const what = DTYPE_NAMES[code] ? ` (${DTYPE_NAMES[code]})` : extended ? ' (extended precision float)' : '';
  throw new InputError(`unsupported dtype ${clip(repr(descr))}${what}; expected one of ${SUPPORTED}`, source);
}

// ---------------------------------------------------------------------------
// Header

function decodeLatin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode.apply(null, Array.from(b.subarray(i, i + 8192)));
  }
  return s;
}

/** Parses the magic, version and header dict. Throws InputError for anything that is not a readable .npy header. */
export function parseNpyHeader(bytes: Uint8Array, source: string): NpyHeader {
  const len = bytes.length;
  if (len === 0) throw new InputError('not a .npy file: expected magic \\x93NUMPY, found an empty file (0 bytes)', source);
  for (let i = 0; i < Math.min(len, MAGIC.length); i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new InputError(`not a .npy file: expected magic \\x93NUMPY, found ${showBytes(bytes)}`, source);
    }
  }
  if (len < 10) {
    throw new InputError(
      `truncated .npy header: expected at least 10 bytes (magic, version, header length), found ${plural(len, 'byte')}`,
      source,
    );
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    throw new InputError(`unsupported .npy format version ${major}.${minor}; expected 1.0, 2.0 or 3.0`, source);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start: number;
  let headerLen: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else {
    if (len < 12) {
      throw new InputError(
        `truncated .npy header: expected at least 12 bytes for a version ${major}.0 preamble, found ${plural(len, 'byte')}`,
        source,
      );
    }
    headerLen = view.getUint32(8, true);
    start = 12;
  }
  const dataOffset = start + headerLen;
  if (dataOffset > len) {
    throw new InputError(
      `truncated .npy header: expected ${plural(headerLen, 'header byte')}, found ${len - start} (file is ${plural(len, 'byte')})`,
      source,
    );
  }
  const raw = bytes.subarray(start, dataOffset);
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new InputError('malformed .npy header: expected UTF-8 text (format version 3.0), found invalid UTF-8 bytes', source);
    }
  } else {
    text = decodeLatin1(raw);
  }

  let dict: PyValue;
  try {
    dict = new LiteralParser(text).parseAll();
  } catch (err) {
    if (err instanceof LiteralError) {
      throw new InputError(`malformed .npy header: ${err.message}; header is ${showText(text)}`, source);
    }
    throw err;
  }
  if (!isObj(dict) || dict.type !== 'dict') {
    throw new InputError(`malformed .npy header: expected a dict, found ${showText(repr(dict))}`, source);
  }
  const fields = new Map<string, PyValue>();
  for (const [k, v] of dict.entries) {
    if (typeof k !== 'string') {
      throw new InputError(`malformed .npy header: expected string keys, found the key ${showText(repr(k))}`, source);
    }
    fields.set(k, v);
  }
  const keys = [...fields.keys()].sort();
  if (keys.join(',') !== 'descr,fortran_order,shape') {
    throw new InputError(
      `malformed .npy header: expected the keys 'descr', 'fortran_order', 'shape', found ${keys.length === 0 ? 'none' : keys.map((k) => `'${k}'`).join(', ')}`,
      source,
    );
  }
  const fortran = fields.get('fortran_order') as PyValue;
  if (typeof fortran !== 'boolean') {
    throw new InputError(`malformed .npy header: expected 'fortran_order' to be True or False, found ${showText(repr(fortran))}`, source);
  }
  const shapeVal = fields.get('shape') as PyValue;
  if (!isObj(shapeVal) || shapeVal.type === 'dict') {
    throw new InputError(`malformed .npy header: expected 'shape' to be a tuple of integers, found ${showText(repr(shapeVal))}`, source);
  }
  const shape: number[] = [];
  for (const d of shapeVal.items) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new InputError(
        `malformed .npy header: expected 'shape' to hold non-negative integers, found ${showText(repr(shapeVal))}`,
        source,
      );
    }
    shape.push(d);
  }
  const descr = fields.get('descr') as PyValue;
  const info = parseDescr(descr, source);
  return {
    version: [major, minor],
    dtype: descr as string,
    fortranOrder: fortran,
    shape,
    dataOffset,
    itemSize: info.itemSize,
    littleEndian: info.littleEndian,
    kind: info.kind,
  };
}

// ---------------------------------------------------------------------------
// float16

let halfTable: Float32Array | undefined;

/** Exact value of an IEEE 754 binary16 bit pattern (subnormals, ±0, ±inf, NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals (sign * 0 keeps -0)
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (0x400 + frac) * 2 ** (exp - 25);
}

/** float16 bit pattern → float32 value, for all 65536 patterns (built once, on first use). */
export function getHalfTable(): Float32Array {
  if (!halfTable) {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = halfToFloat(h);
    halfTable = t;
  }
  return halfTable;
}

// ---------------------------------------------------------------------------
// Data decoding

/**
 * Transposes column-major `src` (rows × cols) into row-major `out`, in cache
 * blocks. Only called with float views (Float32Array→Float32Array or
 * Float64Array→Float64Array), so its element accesses stay monomorphic.
 */
function transposeInto(src: FloatArray, out: FloatArray, rows: number, cols: number): void {
  const B = 64;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(i0 + B, rows);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(j0 + B, cols);
      for (let j = j0; j < j1; j++) {
        const base = j * rows;
        for (let i = i0; i < i1; i++) out[i * cols + j] = src[base + i];
      }
    }
  }
}

// Element codes for the one decoding loop below.
const F2 = 0;
const F4 = 1;
const F8 = 2;
const I1 = 3;
const U1 = 4;
const B1 = 5;
const I2 = 6;
const U2 = 7;
const I4 = 8;
const U4 = 9;
const I8 = 10;
const U8 = 11;

function elementCode(kind: NpyHeader['kind'], itemSize: number): number {
  switch (kind) {
    case 'f':
      return itemSize === 2 ? F2 : itemSize === 4 ? F4 : F8;
    case 'b':
      return B1;
    case 'i':
      return itemSize === 1 ? I1 : itemSize === 2 ? I2 : itemSize === 4 ? I4 : I8;
    case 'u':
      return itemSize === 1 ? U1 : itemSize === 2 ? U2 : itemSize === 4 ? U4 : U8;
    default:
      throw new Error(`internal: no numeric decoder for dtype kind '${kind}'`);
  }
}

/**
 * One pass over the data: reads element k (file order) through a DataView in
 * the file's byte order and writes it row-major. C order is rows = n, cols = 1.
 * A switch on a loop-invariant code rather than a callback per dtype keeps the
 * loop monomorphic (callbacks made V8 several times slower once a few dtypes
 * had been seen).
 */
function decodeLoop(code: number, dv: DataView, le: boolean, out: FloatArray, rows: number, cols: number): void {
  const n = out.length;
  const half = code === F2 ? getHalfTable() : undefined;
  let d = 0;
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    let v: number;
    switch (code) {
      case F2:
        v = (half as Float32Array)[dv.getUint16(k * 2, le)];
        break;
      case F4:
        v = dv.getFloat32(k * 4, le);
        break;
      case F8:
        v = dv.getFloat64(k * 8, le);
        break;
      case I1:
        v = dv.getInt8(k);
        break;
      case U1:
        v = dv.getUint8(k);
        break;
      case B1:
        v = dv.getUint8(k) === 0 ? 0 : 1;
        break;
      case I2:
        v = dv.getInt16(k * 2, le);
        break;
      case U2:
        v = dv.getUint16(k * 2, le);
        break;
      case I4:
        v = dv.getInt32(k * 4, le);
        break;
      case U4:
        v = dv.getUint32(k * 4, le);
        break;
      case I8:
        // high word × 2^32 is exact, so the one addition rounds once: the same
        // value as Number(BigInt) (exact up to 2^53).
        v = dv.getInt32(k * 8 + (le ? 4 : 0), le) * 4294967296 + dv.getUint32(k * 8 + (le ? 0 : 4), le);
        break;
      default:
        v = dv.getUint32(k * 8 + (le ? 4 : 0), le) * 4294967296 + dv.getUint32(k * 8 + (le ? 0 : 4), le);
    }
    out[d] = v;
    d += cols;
    if (++i === rows) {
      i = 0;
      d = ++j;
    }
  }
}

function decodeData(bytes: Uint8Array, h: NpyHeader, n: number): FloatArray {
  const { kind, itemSize, littleEndian: le } = h;
  const fortran = h.fortranOrder && h.shape.length === 2;
  const rows = fortran ? h.shape[0] : n;
  const cols = fortran ? h.shape[1] : 1;
  const abs = bytes.byteOffset + h.dataOffset;
  const nativeOrder = itemSize === 1 || le === HOST_LITTLE_ENDIAN;

  if (kind === 'f' && itemSize !== 2 && nativeOrder) {
    const aligned = abs % itemSize === 0;
    const view: FloatArray | null = aligned
      ? itemSize === 4
        ? new Float32Array(bytes.buffer, abs, n)
        : new Float64Array(bytes.buffer, abs, n)
      : null;
    if (view && !fortran) return view; // zero copy
    const out: FloatArray = itemSize === 4 ? new Float32Array(n) : new Float64Array(n);
    if (view) {
      transposeInto(view, out, rows, cols);
      return out;
    }
    if (!fortran) {
      // Misaligned: one byte copy into a fresh, aligned buffer.
      new Uint8Array(out.buffer, 0, n * itemSize).set(bytes.subarray(h.dataOffset, h.dataOffset + n * itemSize));
      return out;
    }
  }
  const out: FloatArray = kind === 'f' && itemSize !== 8 ? new Float32Array(n) : new Float64Array(n);
  const dv = new DataView(bytes.buffer, abs, n * itemSize);
  decodeLoop(elementCode(kind, itemSize), dv, le, out, rows, cols);
  return out;
}

/**
 * Decodes `count` consecutive C-order rows whose raw bytes (and nothing else)
 * are `bytes`, with the dtype of header `h`: the chunk decoder of the
 * streaming reader. Native-order f4/f8 chunks come back as views on `bytes`.
 */
export function decodeNpyRows(bytes: Uint8Array, h: NpyHeader, count: number): FloatArray {
  const cols = h.shape.length === 2 ? h.shape[1] : 1;
  return decodeData(bytes, { ...h, dataOffset: 0, fortranOrder: false, shape: [count, cols] }, count * cols);
}

/**
 * Parses a whole `.npy` file held in memory. 1-D and 2-D arrays only; the
 * result is row-major. Little-endian C-order f4/f8 data at an aligned offset
 * is returned as a view on `bytes` (no copy); everything else is decoded in
 * one pass into a fresh array.
 */
export function parseNpy(bytes: Uint8Array, source: string): NdArray {
  const h = parseNpyHeader(bytes, source);
  if (h.kind === 'U' || h.kind === 'S') {
    throw new InputError(
      `expected a numeric array, found strings (dtype '${h.dtype}'); an array of class names is read only as labels`,
      source,
    );
  }
  const ndim = h.shape.length;
  if (ndim !== 1 && ndim !== 2) {
    const what = ndim === 0 ? ' (a 0-D scalar)' : '';
    throw new InputError(`expected a 1-D or 2-D array, found shape ${formatShape(h.shape)}${what}`, source);
  }
  let n = 1;
  for (const d of h.shape) n *= d;
  const expected = n * h.itemSize;
  const found = bytes.length - h.dataOffset;
  if (!Number.isSafeInteger(expected) || expected > found) {
    throw new InputError(
      `truncated data: expected ${expected} bytes for shape ${formatShape(h.shape)} of dtype '${h.dtype}' ` +
        `(${h.itemSize} bytes each), found ${found}`,
      source,
    );
  }
  const data = decodeData(bytes, h, n);
  return { data, shape: h.shape, dtype: h.dtype };
}

/** Decodes one NUL-padded element of a '<U'/'>U' (UTF-32) or '|S' (bytes, read as UTF-8) array; numpy drops trailing NULs. */
function decodeStringItem(bytes: Uint8Array, at: number, h: NpyHeader, utf8: { decode(b: Uint8Array): string }): string {
  if (h.kind === 'S') {
    let end = at + h.itemSize;
    while (end > at && bytes[end - 1] === 0) end--;
    return utf8.decode(bytes.subarray(at, end));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let s = '';
  for (let k = 0; k < h.itemSize; k += 4) {
    const cp = view.getUint32(at + k, h.littleEndian);
    if (cp === 0) {
      // Only trailing NULs end the string; an embedded one is kept, as numpy does.
      let rest = 0;
      for (let q = k; q < h.itemSize; q += 4) rest |= view.getUint32(at + q, h.littleEndian);
      if (rest === 0) break;
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new InputError(`invalid unicode code point ${cp} in a '${h.dtype}' array`, '');
    s += String.fromCodePoint(cp);
  }
  return s;
}

/**
 * Labels from a `.npy`: numbers as parseNpy reads them, or — for NumPy unicode
 * (`<U5`) and byte (`|S5`) string arrays — class names (1-D only).
 */
export function parseNpyLabels(bytes: Uint8Array, source: string): LoadedArray {
  const h = parseNpyHeader(bytes, source);
  if (h.kind !== 'U' && h.kind !== 'S') return parseNpy(bytes, source);
  if (h.shape.length !== 1) {
    throw new InputError(`string labels: expected a 1-D array of class names, found shape ${formatShape(h.shape)}`, source);
  }
  const n = h.shape[0];
  const expected = n * h.itemSize;
  if (bytes.length - h.dataOffset < expected) {
    throw new InputError(`truncated data: expected ${expected} bytes for ${n} strings of dtype '${h.dtype}', found ${bytes.length - h.dataOffset}`, source);
  }
  const utf8 = new TextDecoder('utf-8');
  const strings: string[] = new Array<string>(n);
  try {
    for (let i = 0; i < n; i++) strings[i] = decodeStringItem(bytes, h.dataOffset + i * h.itemSize, h, utf8);
  } catch (err) {
    throw new InputError((err as Error).message, source);
  }
  return { strings, shape: [n], dtype: 'string' };
}
