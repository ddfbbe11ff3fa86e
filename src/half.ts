/**
 * IEEE 754 binary16 (f16), both ways: the bits of the recurrent weights of weightFormat 'f16'
 * (src/weights.ts, src/wasm/layout.ts), the float16 tensors of the importers, and the ONNX Cast
 * to FLOAT16 that the ONNX importer folds.
 */

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * The binary16 bits of x, rounded to nearest even (for an f32 x, what pack2x16float gives). The
 * rounding works on x's f32 bits; a double that lands exactly on a tie of binary16 when rounded
 * to f32 goes to its own side of the tie, so a double is rounded once, not twice.
 */
export function toHalf(x: number): number {
  f32Scratch[0] = x;
  const f = f32Scratch[0];
  const bits = u32Scratch[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  let shift = 13;
  let base = e << 10;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    shift = 14 - e;
    base = 0;
  }
  let half = base + (mantissa >>> shift);
  const rest = mantissa & ((1 << shift) - 1);
  const middle = 1 << (shift - 1);
  if (rest > middle || (rest === middle && (Math.abs(x) > Math.abs(f) || (x === f && half & 1)))) half++;
  return sign | half;
}

/** binary16 bits → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** x rounded to the nearest binary16 value (ties to even), as a number. */
export function roundToHalf(x: number): number {
  return halfToFloat(toHalf(x));
}
