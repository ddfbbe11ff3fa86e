/**
 * A reader for the safetensors format (https://github.com/huggingface/safetensors), written here
 * so that the package needs no dependency:
 *
 *   bytes 0..8        N, the header length, a little-endian uint64
 *   bytes 8..8+N      a UTF-8 JSON object: { "__metadata__"?: { string: string },
 *                                            name: { dtype, shape, data_offsets: [begin, end] }, … }
 *   bytes 8+N..       the data; every tensor's [begin, end) is relative to its start, row-major,
 *                     little-endian; the tensors cover it exactly, without gaps or overlaps
 *
 * The header is validated as the reference implementation does (offsets inside the data, byte
 * counts matching shape × dtype, contiguity, no trailing bytes), so a truncated or corrupted file is
 * a GRUError naming the tensor or the offset, never a RangeError or garbage. The data bytes carry no
 * checksum: a flipped bit inside a weight changes that weight. Every dtype the format defines except
 * the sub-byte float formats is decoded to a Float32Array (64-bit integers beyond 2^53 lose precision;
 * F64 rounds to float32).
 */
import { GRUError, describe } from '../errors.js';
import { READERS, decodeElements, formatShape, guard, product, toBytes, type ElementReader } from './common.js';

/** One tensor of a .safetensors file, as {@link parseSafetensors} returns it. */
export interface SafetensorsTensor {
  /** The file's dtype name: F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, U64, I32, U32, I16, U16, I8, U8, BOOL. */
  dtype: string;
  /** The dimensions, as the header lists them. */
  shape: number[];
  /** The values converted to float32. */
  data: Float32Array;
}

const DTYPES: Record<string, { width: number; read: ElementReader; float: boolean }> = {
  F64: { width: 8, read: READERS.f64, float: true },
  F32: { width: 4, read: READERS.f32, float: true },
  F16: { width: 2, read: READERS.f16, float: true },
  BF16: { width: 2, read: READERS.bf16, float: true },
  F8_E4M3: { width: 1, read: READERS.f8e4m3, float: true },
  F8_E5M2: { width: 1, read: READERS.f8e5m2, float: true },
  I64: { width: 8, read: READERS.i64, float: false },
  U64: { width: 8, read: READERS.u64, float: false },
  I32: { width: 4, read: READERS.i32, float: false },
  U32: { width: 4, read: READERS.u32, float: false },
  I16: { width: 2, read: READERS.i16, float: false },
  U16: { width: 2, read: READERS.u16, float: false },
  I8: { width: 1, read: READERS.i8, float: false },
  U8: { width: 1, read: READERS.u8, float: false },
  BOOL: { width: 1, read: READERS.u8, float: false },
};

/** The floating-point dtypes, the only ones a GRU weight may have. */
export const SAFETENSORS_FLOAT_DTYPES = Object.keys(DTYPES).filter((k) => DTYPES[k]!.float);

interface Entry {
  dtype: string;
  shape: number[];
  /** Absolute byte offsets in the file. */
  begin: number;
  end: number;
}

/** A validated file whose tensors are decoded on demand. */
export interface SafetensorsFile {
  metadata: Record<string, string>;
  names: string[];
  info(name: string): { dtype: string; shape: number[] } | undefined;
  read(name: string): SafetensorsTensor;
}

const MAX_HEADER = 100_000_000; // the reference implementation's limit

export function openSafetensors(input: Uint8Array): SafetensorsFile {
  const bytes = toBytes('bytes', input);
  return guard('safetensors', () => {
    if (bytes.length < 8) {
      throw new GRUError(`safetensors: the file has ${bytes.length} bytes, fewer than the 8 of its header length`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const low = view.getUint32(0, true);
    const high = view.getUint32(4, true);
    const headerLength = high * 2 ** 32 + low;
    if (headerLength > bytes.length - 8) {
      throw new GRUError(
        `safetensors: the header length at byte 0 is ${headerLength}, but only ${bytes.length - 8} bytes follow it (truncated or not a safetensors file)`,
      );
    }
    if (headerLength > MAX_HEADER || headerLength < 2) {
      throw new GRUError(`safetensors: the header length at byte 0 is ${headerLength}; expected 2 to ${MAX_HEADER}`);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
    } catch {
      throw new GRUError(`safetensors: the header (bytes 8 to ${8 + headerLength}) is not valid UTF-8`);
    }
    let header: unknown;
    try {
      header = JSON.parse(text);
    } catch (e) {
      throw new GRUError(`safetensors: the header (bytes 8 to ${8 + headerLength}) is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw new GRUError(`safetensors: expected the header to be a JSON object, got ${describe(header)}`);
    }
    const dataStart = 8 + headerLength;
    const dataLength = bytes.length - dataStart;
    const entries = new Map<string, Entry>();
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (
          typeof value !== 'object' ||
          value === null ||
          Array.isArray(value) ||
          !Object.values(value).every((v) => typeof v === 'string')
        ) {
          throw new GRUError(`safetensors: expected __metadata__ to map strings to strings, got ${JSON.stringify(value).slice(0, 80)}`);
        }
        metadata = { ...(value as Record<string, string>) };
        continue;
      }
      entries.set(name, parseEntry(name, value, dataStart, dataLength));
    }
    // The tensors must tile the data exactly: sorted by offset, each starts where the previous ended.
    const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
    let expected = dataStart;
    for (const [name, e] of sorted) {
      if (e.begin !== expected) {
        const what = e.begin < expected ? 'overlaps the tensor before it' : 'leaves a gap after the tensor before it';
        throw new GRUError(
          `safetensors: tensor ${JSON.stringify(name)} starts at data offset ${e.begin - dataStart}, which ${what} (expected ${expected - dataStart})`,
        );
      }
      expected = e.end;
    }
    if (expected !== bytes.length) {
      throw new GRUError(
        `safetensors: the tensors cover ${expected - dataStart} data bytes but the file holds ${dataLength} after its header (trailing or missing bytes)`,
      );
    }
    return {
      metadata,
      names: [...entries.keys()],
      info: (name) => {
        const e = entries.get(name);
        return e && { dtype: e.dtype, shape: [...e.shape] };
      },
      read: (name) => {
        const e = entries.get(name);
        if (!e) throw new GRUError(`safetensors: no tensor named ${JSON.stringify(name)}`);
        const type = DTYPES[e.dtype]!;
        return { dtype: e.dtype, shape: [...e.shape], data: decodeElements(bytes, e.begin, product(e.shape), type.width, type.read) };
      },
    };
  });
}

function parseEntry(name: string, value: unknown, dataStart: number, dataLength: number): Entry {
  const where = `safetensors: tensor ${JSON.stringify(name)}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GRUError(`${where}: expected { dtype, shape, data_offsets }, got ${describe(value)}`);
  }
  const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof v.dtype !== 'string') throw new GRUError(`${where}: expected a dtype string, got ${describe(v.dtype)}`);
  const type = DTYPES[v.dtype];
  if (!type) {
    throw new GRUError(`${where}: unsupported dtype ${JSON.stringify(v.dtype)}; expected one of ${Object.keys(DTYPES).join(', ')}`);
  }
  if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new GRUError(`${where}: expected shape as an array of non-negative integers, got ${JSON.stringify(v.shape)}`);
  }
  const shape = v.shape as number[];
  const offsets = v.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw new GRUError(`${where}: expected data_offsets [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const needed = product(shape) * type.width;
  if (end - begin !== needed) {
    throw new GRUError(
      `${where}: ${v.dtype} ${formatShape(shape)} needs ${needed} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  if (end > dataLength) {
    throw new GRUError(
      `${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes): the file is truncated`,
    );
  }
  return { dtype: v.dtype, shape, begin: dataStart + begin, end: dataStart + end };
}

/**
 * Parses a .safetensors file into its tensors, each converted to a Float32Array (see the module
 * comment for the dtypes). Throws a GRUError naming the tensor or offset when the file is malformed.
 */
export function parseSafetensors(bytes: Uint8Array): Map<string, SafetensorsTensor> {
  const file = openSafetensors(bytes);
  return guard('safetensors', () => new Map(file.names.map((name) => [name, file.read(name)])));
}

/** The `__metadata__` object of a .safetensors file ({} when it has none). */
export function safetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  return openSafetensors(bytes).metadata;
}
