/**
 * A minimal protocol-buffers wire-format decoder: enough to read ONNX files without a dependency
 * and without a schema compiler.
 *
 * A message is a sequence of (key, value) records; key = field number << 3 | wire type:
 *   0 varint (int32, int64, enum, bool)   1 fixed 64-bit (double)   2 length-delimited (string,
 *   bytes, sub-message, packed repeated numbers)   5 fixed 32-bit (float). Wire types 3/4 (groups)
 *   are obsolete and ONNX never uses them; 6/7 do not exist.
 * A repeated numeric field may arrive packed (one length-delimited record) or unpacked (one record
 * per value), or both; readers must accept either, so every numeric accessor here does.
 *
 * `ProtoMessage` indexes a message's records once and decodes values on access. Every read is
 * bounds-checked: a truncated or corrupted file gives a GRUError naming the field path and the byte
 * offset. Records of unknown fields are skipped, as protobuf requires.
 */
import { GRUError } from '../errors.js';
import { concatArrays, readFloat32 } from './common.js';

interface Field {
  wire: number;
  /** File offset of the record's key. */
  at: number;
  /** Wire 0: the value (a 64-bit varint read as a signed integer; exact up to 2^53). */
  value: number;
  /** Wire 1, 2, 5: the payload's [start, end) file offsets. */
  start: number;
  end: number;
}

const WIRE_NAMES = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit', 'invalid (6)', 'invalid (7)'];

/** Reads a varint at `pos`; returns [value, next position]. 64-bit values are read as signed. */
export function readVarint(bytes: Uint8Array, pos: number, end: number, path: string): [number, number] {
  let value = 0;
  let multiplier = 1;
  let big: bigint | undefined;
  const start = pos;
  for (let i = 0; ; i++) {
    if (pos >= end) throw new GRUError(`${path}: truncated varint at byte ${start} (the data ends at byte ${end})`);
    if (i === 10) throw new GRUError(`${path}: varint at byte ${start} is longer than 10 bytes (corrupted data)`);
    const b = bytes[pos++]!;
    if (i < 7) {
      value += (b & 0x7f) * multiplier;
      multiplier *= 128;
    } else {
      big = (big ?? BigInt(value)) + (BigInt(b & 0x7f) << BigInt(7 * i));
    }
    if (!(b & 0x80)) break;
  }
  if (big !== undefined) value = Number(BigInt.asIntN(64, big));
  return [value, pos];
}

export class ProtoMessage {
  private readonly fields = new Map<number, Field[]>();

  /** Indexes the records in bytes[start, end); `path` names the message in error messages. */
  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number,
    readonly path: string,
  ) {
    let pos = start;
    while (pos < end) {
      const at = pos;
      const [key, afterKey] = readVarint(bytes, pos, end, path);
      pos = afterKey;
      const wire = key % 8;
      const number = Math.floor(key / 8);
      if (key < 0 || number === 0 || number > 536_870_911) {
        throw new GRUError(`${path}: invalid field number ${number} at byte ${at} (corrupted data)`);
      }
      const field: Field = { wire, at, value: 0, start: pos, end: pos };
      switch (wire) {
        case 0:
          [field.value, pos] = readVarint(bytes, pos, end, path);
          break;
        case 1:
        case 5: {
          const size = wire === 1 ? 8 : 4;
          if (pos + size > end)
            throw new GRUError(`${path}: field ${number} at byte ${at}: truncated ${size * 8}-bit value (the data ends at byte ${end})`);
          field.end = pos += size;
          break;
        }
        case 2: {
          const [length, afterLength] = readVarint(bytes, pos, end, path);
          if (length < 0 || afterLength + length > end) {
            throw new GRUError(
              `${path}: field ${number} at byte ${at} claims ${length} bytes, but only ${end - afterLength} remain (truncated or corrupted)`,
            );
          }
          field.start = afterLength;
          field.end = pos = afterLength + length;
          break;
        }
        default:
          throw new GRUError(
            `${path}: field ${number} at byte ${at} has wire type ${WIRE_NAMES[wire]}, which ONNX does not use (corrupted data)`,
          );
      }
      let list = this.fields.get(number);
      if (!list) {
        list = [];
        this.fields.set(number, list);
      }
      list.push(field);
    }
  }

  has(number: number): boolean {
    return this.fields.has(number);
  }

  private all(number: number, name: string, wires: number[]): Field[] {
    const list = this.fields.get(number) ?? [];
    for (const f of list) {
      if (!wires.includes(f.wire)) {
        throw new GRUError(
          `${this.path}.${name}: expected wire type ${wires.map((w) => WIRE_NAMES[w]).join(' or ')}, got ${WIRE_NAMES[f.wire]} at byte ${f.at} (corrupted data)`,
        );
      }
    }
    return list;
  }

  /** The last occurrence wins for a non-repeated field, as in protobuf. */
  private last(number: number, name: string, wire: number): Field | undefined {
    const list = this.all(number, name, [wire]);
    return list[list.length - 1];
  }

  varint(number: number, name: string): number | undefined {
    return this.last(number, name, 0)?.value;
  }

  /** A repeated varint field, packed or not. */
  varints(number: number, name: string): number[] {
    const out: number[] = [];
    for (const f of this.all(number, name, [0, 2])) {
      if (f.wire === 0) {
        out.push(f.value);
        continue;
      }
      let pos = f.start;
      while (pos < f.end) {
        let v: number;
        [v, pos] = readVarint(this.bytes, pos, f.end, `${this.path}.${name}`);
        out.push(v);
      }
    }
    return out;
  }

  float(number: number, name: string): number | undefined {
    const f = this.last(number, name, 5);
    return f && readFloat32(this.bytes, f.start, 1)[0];
  }

  /** A repeated float field, packed or not. */
  floats(number: number, name: string): Float32Array {
    const parts: Float32Array[] = [];
    for (const f of this.all(number, name, [5, 2])) {
      if ((f.end - f.start) % 4 !== 0) {
        throw new GRUError(
          `${this.path}.${name}: packed floats at byte ${f.at} take ${f.end - f.start} bytes, not a multiple of 4 (corrupted data)`,
        );
      }
      parts.push(readFloat32(this.bytes, f.start, (f.end - f.start) / 4));
    }
    return concatArrays(parts, Float32Array);
  }

  /** A repeated double field, packed or not. */
  doubles(number: number, name: string): Float64Array {
    const parts: Float64Array[] = [];
    for (const f of this.all(number, name, [1, 2])) {
      if ((f.end - f.start) % 8 !== 0) {
        throw new GRUError(
          `${this.path}.${name}: packed doubles at byte ${f.at} take ${f.end - f.start} bytes, not a multiple of 8 (corrupted data)`,
        );
      }
      const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + f.start, f.end - f.start);
      const part = new Float64Array((f.end - f.start) / 8);
      for (let i = 0; i < part.length; i++) part[i] = view.getFloat64(i * 8, true);
      parts.push(part);
    }
    return concatArrays(parts, Float64Array);
  }

  bytesOf(number: number, name: string): Uint8Array | undefined {
    const f = this.last(number, name, 2);
    return f && this.bytes.subarray(f.start, f.end);
  }

  string(number: number, name: string): string | undefined {
    const f = this.last(number, name, 2);
    return f && this.decode(f, name);
  }

  strings(number: number, name: string): string[] {
    return this.all(number, name, [2]).map((f) => this.decode(f, name));
  }

  message(number: number, name: string): ProtoMessage | undefined {
    const f = this.last(number, name, 2);
    return f && new ProtoMessage(this.bytes, f.start, f.end, `${this.path}.${name}`);
  }

  messages(number: number, name: string): ProtoMessage[] {
    return this.all(number, name, [2]).map((f, i) => new ProtoMessage(this.bytes, f.start, f.end, `${this.path}.${name}[${i}]`));
  }

  private decode(f: Field, name: string): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(f.start, f.end));
    } catch {
      throw new GRUError(`${this.path}.${name}: the string at byte ${f.at} is not valid UTF-8 (corrupted data)`);
    }
  }
}
