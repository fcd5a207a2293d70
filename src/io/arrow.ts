/**
 * Reader for Apache Arrow IPC data: the IPC file format (magic `ARROW1`, also
 * Feather v2), and the IPC stream format, uncompressed or with LZ4-frame or
 * ZSTD compressed record batches (pyarrow's `write_feather` uses LZ4 by
 * default; polars' `write_ipc(compression="lz4")` writes LZ4 frames with
 * linked blocks and checksums). Decoding is apache-arrow's; this module
 * registers the two decompressors with its codec registry (LZ4: ./lz4.ts,
 * ZSTD: fzstd), picks the column(s) and copies them into one row-major typed
 * array.
 *
 * Features: a `FixedSizeList<float>` column, a `List<float>` column whose rows
 * all have the same length, or numeric columns, one per dimension. Labels: an
 * integer, float, boolean or string (also dictionary-encoded) column.
 *
 * No per-row JavaScript arrays for feature data: each record batch's child
 * values buffer is copied once (a single float32 batch without nulls is
 * returned as a view, without any copy). Every failure, apache-arrow's own
 * exceptions included, is an InputError naming the file and the column.
 */
import path from 'node:path';
import {
  CompressionType,
  DataType,
  compressionRegistry,
  tableFromIPC,
  type Data,
  type Field,
  type Table,
  type Vector,
} from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';
import { InputError } from '../core/errors.js';
import type { FloatArray, LoadedArray, NdArray } from '../core/types.js';
import { verifyArrowIpc } from './arrow-verify.js';
import { expandSelector, isRowNumber, leftOutWarning, roleByName, type ColumnRole } from './columns.js';
import { decompressLz4 } from './lz4.js';
import { getHalfTable } from './npy.js';

// ---------------------------------------------------------------------------
// Codecs

let registered = false;

/**
 * The uncompressed length of the Arrow buffer whose LZ4 frame is `frame`, or
 * undefined. Arrow IPC stores each compressed buffer as an 8-byte
 * little-endian uncompressed length followed by the frame; apache-arrow's
 * reader hands the codec only the frame, as a view starting right after that
 * prefix (`subarray(8)` of the buffer), so the prefix is the 8 bytes before
 * the view. It only sizes the output: a wrong value costs a reallocation or
 * a trimmed copy, never a wrong result, so a future apache-arrow that passes
 * a copy instead is still decoded correctly.
 */
function arrowLengthPrefix(frame: Uint8Array): number | undefined {
  if (frame.byteOffset < 8) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset - 8, 8).getBigInt64(0, true);
  return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

/** Registers the LZ4-frame and ZSTD decoders with apache-arrow (idempotent). */
export function registerArrowCodecs(): void {
  if (registered) return;
  compressionRegistry.set(CompressionType.LZ4_FRAME, {
    decode: (data: Uint8Array) => decompressLz4(data, { sizeHint: arrowLengthPrefix(data) }),
  });
  compressionRegistry.set(CompressionType.ZSTD, {
    decode: (data: Uint8Array) => zstdDecompress(data),
  });
  registered = true;
}
registerArrowCodecs();

// ---------------------------------------------------------------------------
// Sniffing and table reading

const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

function hasMagicAt(bytes: Uint8Array, at: number): boolean {
  if (at < 0 || at + 6 > bytes.length) return false;
  for (let i = 0; i < 6; i++) if (bytes[at + i] !== MAGIC[i]) return false;
  return true;
}

/** `file` for the IPC file format (and Feather v2), `stream` for an IPC stream, null otherwise. */
export function arrowKind(bytes: Uint8Array): 'file' | 'stream' | null {
  if (hasMagicAt(bytes, 0)) return 'file';
  if (bytes.length >= 8) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
    const first = dv.getUint32(0, true);
    // 0xFFFFFFFF continuation marker, then the metadata length (a positive multiple of 8).
    if (first === 0xffffffff) {
      const len = dv.getInt32(4, true);
      return len > 0 && len % 8 === 0 ? 'stream' : null;
    }
  }
  return null;
}

/**
 * Legacy (pre-0.15) stream start: an int32 metadata length without the
 * continuation marker, then a flatbuffer whose root offset lies inside it.
 * Only consulted for files with an Arrow extension.
 */
export function looksLikeLegacyArrowStream(bytes: Uint8Array): boolean {
  if (bytes.length < 16) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 16);
  const len = dv.getInt32(0, true);
  const root = dv.getUint32(4, true);
  return len >= 8 && len % 8 === 0 && len + 4 <= bytes.length && root >= 4 && root < len;
}

const tables = new WeakMap<Uint8Array, Table>();

function errMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const line = msg.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

function kindName(kind: 'file' | 'stream' | null): string {
  return kind === 'file' ? 'Arrow IPC file (Feather v2)' : 'Arrow IPC stream';
}

/** Decodes the whole table (cached per byte array), with every failure as an InputError. */
export function readArrowTable(bytes: Uint8Array, source: string): Table {
  const cached = tables.get(bytes);
  if (cached) return cached;
  const kind = arrowKind(bytes) ?? (looksLikeLegacyArrowStream(bytes) ? 'stream' : null);
  if (kind === null) {
    throw new InputError(
      `expected an Arrow IPC file (magic ARROW1), Feather v2 file or Arrow IPC stream, found ${describeHead(bytes)}`,
      source,
    );
  }
  if (kind === 'file' && (bytes.length < 18 || !hasMagicAt(bytes, bytes.length - 6))) {
    throw new InputError(
      `truncated Arrow IPC file (Feather v2): expected the footer and the closing ARROW1 magic at the end, found ${bytes.length} bytes without them (is the file cut short?)`,
      source,
    );
  }
  // apache-arrow trusts the metadata: check it first (a corrupt length would exhaust memory).
  verifyArrowIpc(bytes, kind, source);
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (err) {
    throw new InputError(`corrupt or truncated ${kindName(kind)}: expected readable Arrow data, found an error while decoding it (${errMessage(err)})`, source);
  }
  if (kind === 'stream' && table.schema.fields.length === 0 && table.numRows === 0) {
    throw new InputError(`corrupt or truncated Arrow IPC stream: expected a schema message, found none`, source);
  }
  tables.set(bytes, table);
  return table;
}

function describeHead(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  let s = '';
  for (const c of bytes.subarray(0, 8)) s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return `bytes "${s}"`;
}

// ---------------------------------------------------------------------------
// Column helpers

/** Column names with their types, for messages: `embedding (FixedSizeList[16]<Float32>), label (Utf8)`. */
export function describeColumns(fields: readonly Field[]): string {
  if (fields.length === 0) return 'no columns';
  return fields.map((f) => `${f.name} (${String(f.type)})`).join(', ');
}

/** The column names and types of an Arrow file or stream. */
export function arrowColumns(bytes: Uint8Array, source: string): { name: string; type: string }[] {
  return readArrowTable(bytes, source).schema.fields.map((f) => ({ name: f.name, type: String(f.type) }));
}

function isNumericType(t: DataType): boolean {
  return DataType.isInt(t) || DataType.isFloat(t);
}

function isListLike(t: DataType): boolean {
  return DataType.isFixedSizeList(t) || DataType.isList(t) || DataType.isLargeList(t);
}

function isStringType(t: DataType): boolean {
  return DataType.isUtf8(t) || DataType.isLargeUtf8(t) || DataType.isUtf8View(t);
}

function typeName(t: DataType): string {
  return String(t).toLowerCase();
}

/** Index of the first null among `length` slots starting at bit `offset`, or -1. */
function firstNull(data: Data, length: number, offset = data.offset): number {
  if (data.nullCount === 0) return -1;
  const bitmap = data.nullBitmap;
  if (!bitmap || bitmap.length === 0) return -1;
  for (let i = 0; i < length; i++) {
    const bit = offset + i;
    if ((bitmap[bit >> 3] & (1 << (bit & 7))) === 0) return i;
  }
  return -1;
}


type Values = Float32Array | Float64Array | Uint16Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint32Array | BigInt64Array | BigUint64Array;

/**
 * Copies `count` elements of a numeric child buffer starting at `from` into
 * `out` at `at`, converting float16 and 64-bit integers to numbers.
 */
function copyValues(values: Values, isHalf: boolean, from: number, count: number, out: FloatArray, at: number): void {
  if (isHalf) {
    const table = getHalfTable();
    const src = values as Uint16Array;
    for (let k = 0; k < count; k++) out[at + k] = table[src[from + k]];
  } else if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    for (let k = 0; k < count; k++) out[at + k] = Number(values[from + k]);
  } else {
    out.set(values.subarray(from, from + count), at);
  }
}

function isHalfType(t: DataType): boolean {
  return DataType.isFloat(t) && String(t) === 'Float16';
}

/** float32 storage for float16/float32 elements, float64 for everything else. */
function storageFor(t: DataType): 'f32' | 'f64' {
  return DataType.isFloat(t) && (String(t) === 'Float16' || String(t) === 'Float32') ? 'f32' : 'f64';
}

function corruptColumn(what: string, where: string): InputError {
  return new InputError(`corrupt Arrow data: ${what}`, where);
}

// ---------------------------------------------------------------------------
// Features

function listMatrix(table: Table, index: number, where: string): NdArray {
  const field = table.schema.fields[index];
  const type = field.type as DataType;
  const name = field.name;
  const child = (type as unknown as { children: Field[] }).children[0]?.type as DataType | undefined;
  if (!child || !isNumericType(child)) {
    throw new InputError(
      `column '${name}' is ${String(type)}; expected a list of float16, float32 or float64 values (a FixedSizeList or List column)`,
      where,
    );
  }
  const chunks = (table.getChildAt(index) as Vector).data as Data[];
  const n = table.numRows;
  const fixed = DataType.isFixedSizeList(type);
  const half = isHalfType(child);
  const dtype = `${fixed ? 'fixed_size_list' : DataType.isLargeList(type) ? 'large_list' : 'list'}<${typeName(child)}>`;

  // Row width: the type's for a FixedSizeList, the first row's for a List.
  let d = fixed ? (type as unknown as { listSize: number }).listSize : -1;
  if (!fixed) {
    for (const data of chunks) {
      if (data.length === 0) continue;
      const offs = data.valueOffsets as Int32Array | BigInt64Array;
      d = Number(offs[1]) - Number(offs[0]);
      break;
    }
    if (d < 0) d = 0;
  }

  // Checks, chunk by chunk: nulls, ragged rows, buffer lengths.
  let row = 0;
  const spans: { data: Data; from: number; values: Values }[] = [];
  for (const data of chunks) {
    const len = data.length;
    const nullAt = firstNull(data, len);
    if (nullAt >= 0) {
      throw new InputError(`column '${name}' has a null at row ${row + nullAt}; expected a value in every row of a feature column`, where);
    }
    const c = data.children[0] as Data | undefined;
    if (!c) throw corruptColumn(`column '${name}' has no child values`, where);
    const values = c.values as Values;
    let from: number;
    if (fixed) {
      from = 0;
    } else {
      const offs = data.valueOffsets as Int32Array | BigInt64Array;
      if (!offs || offs.length < len + 1) throw corruptColumn(`column '${name}' has ${offs?.length ?? 0} offsets for ${len} rows`, where);
      from = Number(offs[0]);
      for (let i = 0; i < len; i++) {
        const li = Number(offs[i + 1]) - Number(offs[i]);
        if (li !== d) {
          throw new InputError(
            `ragged List column '${name}': row ${row + i} has ${li} values, row 0 has ${d}; expected every row to have the same length`,
            where,
          );
        }
      }
    }
    const count = len * d;
    if (!values || from < 0 || from + count > values.length) {
      throw corruptColumn(`column '${name}' should hold ${count} values in rows ${row}..${row + len - 1}, found ${values ? Math.max(0, values.length - from) : 0}`, where);
    }
    const childNull = firstNull(c, count, c.offset + from);
    if (childNull >= 0) {
      const r = row + Math.floor(childNull / Math.max(1, d));
      throw new InputError(
        `column '${name}' has a null value at row ${r}, dimension ${childNull % Math.max(1, d)}; expected finite numbers`,
        where,
      );
    }
    spans.push({ data, from, values });
    row += len;
  }
  if (row !== n) throw corruptColumn(`column '${name}' has ${row} rows, the table ${n}`, where);

  const f32 = storageFor(child) === 'f32';
  // One float32 (or float64) batch without conversion: a view, no copy.
  if (spans.length === 1 && !half) {
    const { from, values } = spans[0];
    if ((f32 && values instanceof Float32Array) || (!f32 && values instanceof Float64Array)) {
      return { data: values.subarray(from, from + n * d), shape: [n, d], dtype };
    }
  }
  const out: FloatArray = f32 ? new Float32Array(n * d) : new Float64Array(n * d);
  let at = 0;
  for (const { data, from, values } of spans) {
    const count = data.length * d;
    copyValues(values, half, from, count, out, at);
    at += count;
  }
  return { data: out, shape: [n, d], dtype };
}

function columnsMatrix(table: Table, indices: number[], where: string): NdArray {
  const fields = table.schema.fields;
  for (const i of indices) {
    const t = fields[i].type as DataType;
    if (!isNumericType(t)) {
      throw new InputError(
        `column '${fields[i].name}' is ${String(t)}; expected a numeric feature column (integer or float), a FixedSizeList or a List of floats`,
        where,
      );
    }
  }
  const n = table.numRows;
  const d = indices.length;
  const types = indices.map((i) => fields[i].type as DataType);
  const f32 = types.every((t) => storageFor(t) === 'f32');
  const out: FloatArray = f32 ? new Float32Array(n * d) : new Float64Array(n * d);
  const distinct = [...new Set(types.map(typeName))];
  indices.forEach((index, j) => {
    const name = fields[index].name;
    const half = isHalfType(types[j]);
    const table16 = half ? getHalfTable() : undefined;
    let row = 0;
    for (const data of (table.getChildAt(index) as Vector).data as Data[]) {
      const len = data.length;
      const nullAt = firstNull(data, len);
      if (nullAt >= 0) {
        throw new InputError(`column '${name}' has a null at row ${row + nullAt}; expected a value in every row of a feature column`, where);
      }
      const values = data.values as Values;
      if (!values || values.length < len) throw corruptColumn(`column '${name}' should hold ${len} values, found ${values?.length ?? 0}`, where);
      if (table16) {
        const src = values as Uint16Array;
        for (let i = 0; i < len; i++) out[(row + i) * d + j] = table16[src[i]];
      } else if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
        for (let i = 0; i < len; i++) out[(row + i) * d + j] = Number(values[i]);
      } else {
        for (let i = 0; i < len; i++) out[(row + i) * d + j] = values[i];
      }
      row += len;
    }
    if (row !== n) throw corruptColumn(`column '${name}' has ${row} rows, the table ${n}`, where);
  });
  return { data: out, shape: [n, d], dtype: distinct.length === 1 ? distinct[0] : distinct.join('+') };
}

/** Resolves a selector to column indices: a name, or a comma-separated list of names and `first..last` ranges. */
function selectColumns(fields: readonly Field[], selector: string, where: string): number[] {
  const r = expandSelector(
    fields.map((f) => f.name),
    selector,
  );
  if ('indices' in r) return r.indices;
  const what = r.missing.length > 1 ? `no columns ${r.missing.map((m) => `'${m}'`).join(', ')}` : `no column '${r.missing[0]}'`;
  throw new InputError(`${what}; expected one of the columns: ${describeColumns(fields)}`, where);
}

const LABEL_NAMES = ['label', 'labels'];

/** Runs `fn`, turning anything but an InputError (apache-arrow's lazy decoding) into an InputError. */
function guarded<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`corrupt Arrow data: expected readable column data, found an error while decoding it (${errMessage(err)})`, where);
  }
}

/**
 * Features as an N × D matrix. `column` picks a list column, a numeric column,
 * or several numeric columns (comma-separated). Default: the only list
 * column, else every numeric column except one named `label`/`labels` and
 * a pandas index column (`__index_level_0__`).
 */
export function readArrowFeatures(bytes: Uint8Array, source: string, column?: string): NdArray {
  const where = column ? `${source}#${column}` : source;
  const table = readArrowTable(bytes, source);
  return guarded(where, () => {
    const fields = table.schema.fields;
    if (column) {
      const idx = selectColumns(fields, column, where);
      if (idx.length === 1 && isListLike(fields[idx[0]].type as DataType)) return listMatrix(table, idx[0], where);
      for (const i of idx) {
        if (isListLike(fields[i].type as DataType)) {
          throw new InputError(`column '${fields[i].name}' is a list column; select it alone (#${fields[i].name})`, where);
        }
      }
      return columnsMatrix(table, idx, where);
    }
    const lists = fields.map((f, i) => [f, i] as const).filter(([f]) => isListLike(f.type as DataType));
    if (lists.length === 1) return listMatrix(table, lists[0][1], where);
    if (lists.length > 1) {
      throw new InputError(
        `expected one list column of features, found ${lists.length}: ${lists.map(([f]) => f.name).join(', ')}; choose one with ${path.basename(source)}#COLUMN`,
        where,
      );
    }
    // One numeric column per dimension: never the labels, a row number or an id (src/io/columns.ts).
    const numeric: number[] = [];
    const left: { name: string; role: ColumnRole }[] = [];
    fields.forEach((f, i) => {
      const type = f.type as DataType;
      if (!isNumericType(type)) return;
      const role = roleByName(f.name) ?? (DataType.isInt(type) && isRowNumber((r) => Number(table.getChildAt(i)!.get(r)), table.numRows) ? 'id-like' : null);
      if (role) left.push({ name: f.name, role });
      else numeric.push(i);
    });
    if (numeric.length === 0) {
      throw new InputError(
        `expected a FixedSizeList or List column of floats, or numeric columns (one per dimension), found ${describeColumns(fields)}`,
        where,
      );
    }
    const m = columnsMatrix(table, numeric, where);
    const warning = leftOutWarning(numeric.length, left);
    return warning ? { ...m, warnings: [warning] } : m;
  });
}

function stringColumn(vector: Vector, name: string, where: string): LoadedArray {
  const n = vector.length;
  const strings: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const v: unknown = vector.get(i);
    if (v === null || v === undefined) {
      throw new InputError(`column '${name}' has a null at row ${i}; expected a label in every row`, where);
    }
    strings[i] = typeof v === 'string' ? v : String(v);
  }
  return { strings, shape: [n], dtype: 'string' };
}

function numericColumn(vector: Vector, type: DataType, name: string, where: string): NdArray {
  const n = vector.length;
  const out = new Float64Array(n);
  const half = isHalfType(type);
  const table16 = half ? getHalfTable() : undefined;
  let row = 0;
  for (const data of vector.data as Data[]) {
    const len = data.length;
    const nullAt = firstNull(data, len);
    if (nullAt >= 0) throw new InputError(`column '${name}' has a null at row ${row + nullAt}; expected a label in every row`, where);
    const values = data.values as Values;
    if (DataType.isBool(type)) {
      const bits = data.values as Uint8Array;
      for (let i = 0; i < len; i++) {
        const b = data.offset + i;
        out[row + i] = (bits[b >> 3] >> (b & 7)) & 1;
      }
    } else {
      if (!values || values.length < len) throw corruptColumn(`column '${name}' should hold ${len} values, found ${values?.length ?? 0}`, where);
      if (table16) for (let i = 0; i < len; i++) out[row + i] = table16[(values as Uint16Array)[i]];
      else if (values instanceof BigInt64Array || values instanceof BigUint64Array) for (let i = 0; i < len; i++) out[row + i] = Number(values[i]);
      else for (let i = 0; i < len; i++) out[row + i] = values[i];
    }
    row += len;
  }
  return { data: out, shape: [n], dtype: typeName(type) };
}

/**
 * Labels (or ground-truth values) from one column: the selector, else the
 * only column, else a column named `label` or `labels`. Integer, float and
 * boolean columns give a 1-D float64 NdArray; string and dictionary-encoded
 * string columns give a StringArray; a list column gives an N × K matrix
 * (multi-label or multi-output targets).
 */
export function readArrowLabels(bytes: Uint8Array, source: string, column?: string): LoadedArray {
  const where = column ? `${source}#${column}` : source;
  const table = readArrowTable(bytes, source);
  return guarded(where, () => {
    const fields = table.schema.fields;
    let index: number;
    if (column) {
      const idx = selectColumns(fields, column, where);
      if (idx.length > 1) return columnsMatrix(table, idx, where);
      index = idx[0];
    } else if (fields.length === 1) {
      index = 0;
    } else {
      index = fields.findIndex((f) => f.name === 'label');
      if (index < 0) index = fields.findIndex((f) => f.name === 'labels');
      if (index < 0) index = fields.findIndex((f) => LABEL_NAMES.includes(f.name.toLowerCase()));
      if (index < 0) {
        throw new InputError(
          `expected a single column or one named 'label' or 'labels', found ${fields.length} columns: ${describeColumns(fields)}; choose one with ${path.basename(source)}#COLUMN`,
          where,
        );
      }
    }
    const field = fields[index];
    const type = field.type as DataType;
    const vector = table.getChildAt(index) as Vector;
    if (isListLike(type)) return listMatrix(table, index, where);
    if (isNumericType(type) || DataType.isBool(type)) return numericColumn(vector, type, field.name, where);
    if (isStringType(type)) return stringColumn(vector, field.name, where);
    if (DataType.isDictionary(type)) {
      const valueType = (type as unknown as { dictionary: DataType }).dictionary;
      if (isStringType(valueType)) return stringColumn(vector, field.name, where);
      if (isNumericType(valueType)) {
        const n = vector.length;
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const v: unknown = vector.get(i);
          if (v === null || v === undefined) throw new InputError(`column '${field.name}' has a null at row ${i}; expected a label in every row`, where);
          out[i] = Number(v);
        }
        return { data: out, shape: [n], dtype: typeName(valueType) };
      }
    }
    throw new InputError(`column '${field.name}' is ${String(type)}; expected integer, float or string labels`, where);
  });
}
