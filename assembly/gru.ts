/**
 * The WebAssembly kernels of the CPU backend (src/wasm/), in AssemblyScript: f32 SIMD128, with
 * `f32x4.relaxed_madd` where the build enables relaxed SIMD (one source, two builds; the host picks
 * the one the engine validates). No managed objects: every argument is a byte offset into the linear
 * memory the host lays out (src/wasm/layout.ts) or a size.
 *
 * Kernels
 *   gemm   Y[m, 8·panels] = X[m, :k] · Wp (+ bias): the input projection of every timestep of a
 *          layer (m = T·B rows, both directions' columns at once), and each step's U·h (m = B).
 *          Wp is packed at create time in panels of 8 columns, [panel][k][8], so a k step reads
 *          32 contiguous bytes per panel.
 *   recur  every timestep of one layer and direction for a block of batch rows: U·h through gemm,
 *          then the gates, with h kept in linear memory between steps. Its arguments are a
 *          struct the host writes once per forward (Cfg below), so a streaming step is one call.
 *
 * Napkin maths (Zen/Skylake class core, 16 XMM registers, 2 loads + 2 FMA-or-mul/add per cycle):
 * - gemm rows in blocks of 4 × 8 columns: per k, 2 weight loads + 4 splat loads feed 8
 *   multiply-adds (64 FLOPs); 8 accumulators + 2 weights + 1 splat = 11 registers, so nothing
 *   spills (6 × 8 and 4 × 16 do: measured 27–30 against 46 GFLOP/s for 4 × 8).
 * - a single row (B = 1, the streaming case) is a matrix–vector product: 1 splat per k, bound by
 *   the dependency chain of each accumulator (4 cycles per FMA), so it runs 4 panels (8
 *   independent accumulators) at once.
 * - per step, U is 3H·H floats: at H = 256, 786 KB, read once per step for all B rows (the rows
 *   are the m of gemm), so large batches amortise it; the gates are ~40 flops per unit, vectorised.
 * - tanh is Eigen's 13/6 rational approximation (|error| ≤ 3.3e-7 on [−12, 12], measured against
 *   Math.tanh), sigmoid(x) = 0.5 + 0.5·tanh(x/2) (≤ 2.3e-7); the other activations are lane-wise
 *   with Mathf (they are rare and the matrix products dominate).
 */

// ---- SIMD helpers --------------------------------------------------------------------------------

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline function splat(x: f32): v128 {
  return f32x4.splat(x);
}

@inline function tanh4(v: v128): v128 {
  const c = splat(7.90531110763549805);
  const x = f32x4.max(f32x4.min(v, c), f32x4.neg(c));
  const x2 = f32x4.mul(x, x);
  let p = madd(x2, splat(-2.76076847742355e-16), splat(2.00018790482477e-13));
  p = madd(x2, p, splat(-8.60467152213735e-11));
  p = madd(x2, p, splat(5.12229709037114e-8));
  p = madd(x2, p, splat(1.48572235717979e-5));
  p = madd(x2, p, splat(6.37261928875436e-4));
  p = madd(x2, p, splat(4.89352455891786e-3));
  p = f32x4.mul(x, p);
  let q = madd(x2, splat(1.19825839466702e-6), splat(1.1853470568665e-4));
  q = madd(x2, q, splat(2.268434632439e-3));
  q = madd(x2, q, splat(4.89352518554385e-3));
  const r = f32x4.div(p, q);
  // tanh(x) = x to f32 precision below 4e-4, where the rational form loses relative accuracy.
  return v128.bitselect(v, r, f32x4.lt(f32x4.abs(v), splat(0.0004)));
}

@inline function sigmoid4(v: v128): v128 {
  const half = splat(0.5);
  return madd(half, tanh4(f32x4.mul(half, v)), half);
}

/** Activation codes: src/options.ts ACTIVATION_CODES (shared with shaders/recurrence.wgsl). */
function activate4(code: i32, alpha: f32, beta: f32, v: v128): v128 {
  switch (code) {
    case 0:
      return sigmoid4(v);
    case 1:
      return tanh4(v);
    case 2:
      return f32x4.max(v, f32x4.splat(0));
    case 3:
      return f32x4.max(f32x4.min(madd(splat(alpha), v, splat(beta)), splat(1)), f32x4.splat(0));
    case 4:
      return v128.bitselect(f32x4.mul(splat(alpha), v), v, f32x4.lt(v, f32x4.splat(0)));
    case 6:
      return f32x4.div(v, f32x4.add(splat(1), f32x4.abs(v)));
    case 8:
      return f32x4.mul(splat(alpha), tanh4(f32x4.mul(splat(beta), v)));
    case 9:
      return madd(splat(alpha), v, splat(beta));
    case 10:
      return v128.bitselect(v, f32x4.splat(0), f32x4.gt(v, splat(alpha)));
    default: {
      // elu (5) and softplus (7): lane-wise, through Mathf.exp / Mathf.log1p.
      let out = v;
      out = f32x4.replace_lane(out, 0, activate1(code, alpha, f32x4.extract_lane(v, 0)));
      out = f32x4.replace_lane(out, 1, activate1(code, alpha, f32x4.extract_lane(v, 1)));
      out = f32x4.replace_lane(out, 2, activate1(code, alpha, f32x4.extract_lane(v, 2)));
      out = f32x4.replace_lane(out, 3, activate1(code, alpha, f32x4.extract_lane(v, 3)));
      return out;
    }
  }
}

function activate1(code: i32, alpha: f32, x: f32): f32 {
  if (code == 5) return x < 0 ? alpha * (Mathf.exp(x) - 1) : x;
  // softplus, as the reference computes it: log1p(exp(−|x|)) + max(x, 0)
  return Mathf.log1p(Mathf.exp(-Mathf.abs(x))) + Mathf.max(x, 0);
}

// ---- gemm ----------------------------------------------------------------------------------------

/**
 * Y[m, 8·panels] = X[m, :k] · Wp (+ bias[8·panels] when `bias` ≠ 0). Row strides in floats.
 * Wp: panels of 8 columns, [panel][k][8] floats.
 *
 * Where Wp is over 1 MB (past a core's L2), rows go in chunks whose slice of X fits half of the
 * L2, and every panel streams past a chunk once: row blocks outermost would stream the whole of Wp
 * from L3 once per 4 rows (at 2048 × 1024 × 3072, 512 times 12 MB). Measured, same run: +12–19%
 * at 2048 × 1024 × 3072 and 64 × 1024 × 3072, +9% at 2048 × 512 × 1536; 3–5% slower on weights
 * that fit the L2 (16 × 256 × 768), which therefore keep 4-row chunks (row blocks outermost).
 */
export function gemm(x: usize, ldx: i32, m: i32, k: i32, w: usize, panels: i32, bias: usize, y: usize, ldy: i32): void {
  const xs = (<usize>ldx) << 2;
  const ys = (<usize>ldy) << 2;
  const ps = (<usize>k) << 5;
  const m4 = m & ~3;
  const chunk = (<usize>panels) * ps > 1 << 20 ? max(4, ((1 << 19) / (k << 2)) & ~3) : 4;
  for (let i0 = 0; i0 < m4; i0 += chunk) {
    const i1 = min(m4, i0 + chunk);
    for (let p = 0; p < panels; p++) {
      for (let i = i0; i < i1; i += 4) {
        const x0 = x + <usize>i * xs;
        const y0 = y + <usize>i * ys;
        const wp0 = w + <usize>p * ps;
        const yp = y0 + ((<usize>p) << 5);
        let a00 = f32x4.splat(0);
        let a01 = f32x4.splat(0);
        if (bias) {
          a00 = v128.load(bias + ((<usize>p) << 5));
          a01 = v128.load(bias + ((<usize>p) << 5), 16);
        }
        let a10 = a00;
        let a11 = a01;
        let a20 = a00;
        let a21 = a01;
        let a30 = a00;
        let a31 = a01;
        let wp = wp0;
        let xp = x0;
        const end = x0 + ((<usize>k) << 2);
        while (xp < end) {
          const w0 = v128.load(wp);
          const w1 = v128.load(wp, 16);
          const s0 = v128.load32_splat(xp);
          a00 = madd(s0, w0, a00);
          a01 = madd(s0, w1, a01);
          const s1 = v128.load32_splat(xp + xs);
          a10 = madd(s1, w0, a10);
          a11 = madd(s1, w1, a11);
          const s2 = v128.load32_splat(xp + 2 * xs);
          a20 = madd(s2, w0, a20);
          a21 = madd(s2, w1, a21);
          const s3 = v128.load32_splat(xp + 3 * xs);
          a30 = madd(s3, w0, a30);
          a31 = madd(s3, w1, a31);
          wp += 32;
          xp += 4;
        }
        v128.store(yp, a00);
        v128.store(yp, a01, 16);
        v128.store(yp + ys, a10);
        v128.store(yp + ys, a11, 16);
        v128.store(yp + 2 * ys, a20);
        v128.store(yp + 2 * ys, a21, 16);
        v128.store(yp + 3 * ys, a30);
        v128.store(yp + 3 * ys, a31, 16);
      }
    }
  }
  for (let i = m4; i < m; i++) gemv(x + <usize>i * xs, k, w, panels, bias, y + <usize>i * ys);
}

/**
 * One row of gemm (B = 1: the streaming step): a matrix–vector product, bound by the dependency
 * chains of its accumulators and by address arithmetic. 4 panels (8 independent accumulators) at
 * a time, k unrolled by 4 so that every weight load has a constant offset from one of four
 * stream pointers: measured 2.0× the rolled loop (33 against 16 GFLOP/s at 1 × 256 × 768).
 */
function gemv(x: usize, k: i32, w: usize, panels: i32, bias: usize, y: usize): void {
  const ps = (<usize>k) << 5;
  const end = x + ((<usize>k) << 2);
  const end4 = x + ((<usize>(k & ~3)) << 2);
  let p = 0;
  for (; p + 4 <= panels; p += 4) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let a4 = f32x4.splat(0);
    let a5 = f32x4.splat(0);
    let a6 = f32x4.splat(0);
    let a7 = f32x4.splat(0);
    if (bias) {
      const b = bias + ((<usize>p) << 5);
      a0 = v128.load(b, 0);
      a1 = v128.load(b, 16);
      a2 = v128.load(b, 32);
      a3 = v128.load(b, 48);
      a4 = v128.load(b, 64);
      a5 = v128.load(b, 80);
      a6 = v128.load(b, 96);
      a7 = v128.load(b, 112);
    }
    let w0 = w + <usize>p * ps;
    let xp = x;
    for (; xp < end4; xp += 16) {
      const w1 = w0 + ps;
      const w2 = w1 + ps;
      const w3 = w2 + ps;
      const s0 = v128.load32_splat(xp, 0);
      a0 = madd(s0, v128.load(w0, 0), a0);
      a1 = madd(s0, v128.load(w0, 16), a1);
      a2 = madd(s0, v128.load(w1, 0), a2);
      a3 = madd(s0, v128.load(w1, 16), a3);
      a4 = madd(s0, v128.load(w2, 0), a4);
      a5 = madd(s0, v128.load(w2, 16), a5);
      a6 = madd(s0, v128.load(w3, 0), a6);
      a7 = madd(s0, v128.load(w3, 16), a7);
      const s1 = v128.load32_splat(xp, 4);
      a0 = madd(s1, v128.load(w0, 32), a0);
      a1 = madd(s1, v128.load(w0, 48), a1);
      a2 = madd(s1, v128.load(w1, 32), a2);
      a3 = madd(s1, v128.load(w1, 48), a3);
      a4 = madd(s1, v128.load(w2, 32), a4);
      a5 = madd(s1, v128.load(w2, 48), a5);
      a6 = madd(s1, v128.load(w3, 32), a6);
      a7 = madd(s1, v128.load(w3, 48), a7);
      const s2 = v128.load32_splat(xp, 8);
      a0 = madd(s2, v128.load(w0, 64), a0);
      a1 = madd(s2, v128.load(w0, 80), a1);
      a2 = madd(s2, v128.load(w1, 64), a2);
      a3 = madd(s2, v128.load(w1, 80), a3);
      a4 = madd(s2, v128.load(w2, 64), a4);
      a5 = madd(s2, v128.load(w2, 80), a5);
      a6 = madd(s2, v128.load(w3, 64), a6);
      a7 = madd(s2, v128.load(w3, 80), a7);
      const s3 = v128.load32_splat(xp, 12);
      a0 = madd(s3, v128.load(w0, 96), a0);
      a1 = madd(s3, v128.load(w0, 112), a1);
      a2 = madd(s3, v128.load(w1, 96), a2);
      a3 = madd(s3, v128.load(w1, 112), a3);
      a4 = madd(s3, v128.load(w2, 96), a4);
      a5 = madd(s3, v128.load(w2, 112), a5);
      a6 = madd(s3, v128.load(w3, 96), a6);
      a7 = madd(s3, v128.load(w3, 112), a7);
      w0 += 128;
    }
    for (; xp < end; xp += 4) {
      const w1 = w0 + ps;
      const w2 = w1 + ps;
      const w3 = w2 + ps;
      const s = v128.load32_splat(xp);
      a0 = madd(s, v128.load(w0), a0);
      a1 = madd(s, v128.load(w0, 16), a1);
      a2 = madd(s, v128.load(w1), a2);
      a3 = madd(s, v128.load(w1, 16), a3);
      a4 = madd(s, v128.load(w2), a4);
      a5 = madd(s, v128.load(w2, 16), a5);
      a6 = madd(s, v128.load(w3), a6);
      a7 = madd(s, v128.load(w3, 16), a7);
      w0 += 32;
    }
    const yp = y + ((<usize>p) << 5);
    v128.store(yp, a0, 0);
    v128.store(yp, a1, 16);
    v128.store(yp, a2, 32);
    v128.store(yp, a3, 48);
    v128.store(yp, a4, 64);
    v128.store(yp, a5, 80);
    v128.store(yp, a6, 96);
    v128.store(yp, a7, 112);
  }
  // The last panels one at a time, with two chains per half panel.
  for (; p < panels; p++) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let c0 = f32x4.splat(0);
    let c1 = f32x4.splat(0);
    if (bias) {
      a0 = v128.load(bias + ((<usize>p) << 5));
      a1 = v128.load(bias + ((<usize>p) << 5), 16);
    }
    let wp = w + <usize>p * ps;
    let xp = x;
    for (; xp < end4; xp += 16) {
      const s0 = v128.load32_splat(xp, 0);
      a0 = madd(s0, v128.load(wp, 0), a0);
      a1 = madd(s0, v128.load(wp, 16), a1);
      const s1 = v128.load32_splat(xp, 4);
      c0 = madd(s1, v128.load(wp, 32), c0);
      c1 = madd(s1, v128.load(wp, 48), c1);
      const s2 = v128.load32_splat(xp, 8);
      a0 = madd(s2, v128.load(wp, 64), a0);
      a1 = madd(s2, v128.load(wp, 80), a1);
      const s3 = v128.load32_splat(xp, 12);
      c0 = madd(s3, v128.load(wp, 96), c0);
      c1 = madd(s3, v128.load(wp, 112), c1);
      wp += 128;
    }
    for (; xp < end; xp += 4) {
      const s = v128.load32_splat(xp);
      a0 = madd(s, v128.load(wp), a0);
      a1 = madd(s, v128.load(wp, 16), a1);
      wp += 32;
    }
    const yp = y + ((<usize>p) << 5);
    v128.store(yp, f32x4.add(a0, c0));
    v128.store(yp, f32x4.add(a1, c1), 16);
  }
}

// ---- recur ---------------------------------------------------------------------------------------

/**
 * The argument struct of `recur`, 4-byte fields, written by src/wasm/layout.ts (`CFG_FIELDS`, in
 * this order; a test holds the two lists together). Pointers are byte offsets, strides in floats.
 */
@unmanaged class Cfg {
  /** Projected input (bias folded) of row 0 at t = 0, this direction's 3·Hp columns. */
  gx: usize;
  gStrideT: i32;
  gStrideB: i32;
  /** Packed Uᵀ: 3·Hp/8 panels of [H][8] (r, z, n). */
  u: usize;
  /** b_hn [Hp] (read when resetAfter). */
  bhn: usize;
  /** h [rows][Hp], updated in place. */
  h: usize;
  /** Scratch [rows][3Hp]: U·h (then r, z in place when the reset gate comes first). */
  hg: usize;
  /** Scratch [rows][Hp]: r ⊙ h (reset gate first). */
  rh: usize;
  /** Output of row 0 at t = 0 (this direction's column offset included); 0: no output. */
  out: usize;
  oStrideT: i32;
  oStrideB: i32;
  /** Batch index of row 0 (for `lengths`, `gx` and `out`). */
  b0: i32;
  rows: i32;
  steps: i32;
  /** Int32 valid lengths per batch index; 0: every row has `steps`. */
  lengths: usize;
  reverse: i32;
  hidden: i32;
  hiddenPadded: i32;
  resetAfter: i32;
  fCode: i32;
  fAlpha: f32;
  fBeta: f32;
  gCode: i32;
  gAlpha: f32;
  gBeta: f32;
  /** 0: no clipping. */
  clip: f32;
}

@inline function clip4(v: v128, c: f32): v128 {
  if (c > 0) return f32x4.max(f32x4.min(v, splat(c)), splat(-c));
  return v;
}

/** The timestep that step s of row b (of the struct's block) reaches, or −1 past the row's length. */
@inline function stepTime(c: Cfg, b: i32, s: i32): i32 {
  const len = c.lengths ? load<i32>(c.lengths + ((<usize>(c.b0 + b)) << 2)) : c.steps;
  if (s >= len) return -1;
  return c.reverse ? len - 1 - s : s;
}

/** Byte address of row (t, b) of a [T, B, …] or [B, T, …] array, strides in floats. */
@inline function at(base: usize, t: i32, strideT: i32, b: i32, strideB: i32): usize {
  return base + ((<usize>(t * strideT + b * strideB)) << 2);
}

export function recur(cfgPtr: usize): void {
  const c = changetype<Cfg>(cfgPtr);
  const H = c.hidden;
  const Hp = c.hiddenPadded;
  const rows = c.rows;
  const hRow = (<usize>Hp) << 2;
  const gRow = hRow * 3;
  const P = Hp >> 3;
  const panelBytes = (<usize>H) << 5;
  const fCode = c.fCode;
  const gCode = c.gCode;
  const fa = c.fAlpha;
  const fb = c.fBeta;
  const ga = c.gAlpha;
  const gb = c.gBeta;
  const clip = c.clip;
  const common = fCode == 0 && gCode == 1 && clip == 0;
  const outBytes = (<usize>H) << 2;
  for (let s = 0; s < c.steps; s++) {
    gemm(c.h, Hp, rows, H, c.u, c.resetAfter ? 3 * P : 2 * P, 0, c.hg, 3 * Hp);
    for (let b = 0; b < rows; b++) {
      const t = stepTime(c, b, s);
      if (t < 0) continue;
      const gx = at(c.gx, t, c.gStrideT, c.b0 + b, c.gStrideB);
      const h = c.h + <usize>b * hRow;
      const hg = c.hg + <usize>b * gRow;
      if (c.resetAfter) {
        if (common) gatesAfterCommon(gx, hg, c.bhn, h, hRow);
        else gatesAfter(gx, hg, c.bhn, h, hRow, fCode, fa, fb, gCode, ga, gb, clip);
      } else {
        resetFirst(gx, hg, c.rh + <usize>b * hRow, h, hRow, fCode, fa, fb, clip);
      }
    }
    if (!c.resetAfter) {
      gemm(c.rh, Hp, rows, H, c.u + <usize>(2 * P) * panelBytes, P, 0, c.hg + 2 * hRow, 3 * Hp);
      for (let b = 0; b < rows; b++) {
        const t = stepTime(c, b, s);
        if (t < 0) continue;
        candidateFirst(at(c.gx, t, c.gStrideT, c.b0 + b, c.gStrideB), c.hg + <usize>b * gRow, c.h + <usize>b * hRow, hRow, gCode, ga, gb, clip);
      }
    }
    if (c.out) {
      for (let b = 0; b < rows; b++) {
        const t = stepTime(c, b, s);
        if (t < 0) continue;
        memory.copy(at(c.out, t, c.oStrideT, c.b0 + b, c.oStrideB), c.h + <usize>b * hRow, outBytes);
      }
    }
  }
}

/** sigmoid/tanh, no clip, reset gate after: the case nearly everyone runs, with nothing to branch on. */
function gatesAfterCommon(gx: usize, hg: usize, bhn: usize, h: usize, hRow: usize): void {
  for (let j: usize = 0; j < hRow; j += 16) {
    const r = sigmoid4(f32x4.add(v128.load(gx + j), v128.load(hg + j)));
    const z = sigmoid4(f32x4.add(v128.load(gx + hRow + j), v128.load(hg + hRow + j)));
    const n = tanh4(madd(r, f32x4.add(v128.load(hg + 2 * hRow + j), v128.load(bhn + j)), v128.load(gx + 2 * hRow + j)));
    const hv = v128.load(h + j);
    v128.store(h + j, madd(z, f32x4.sub(hv, n), n));
  }
}

function gatesAfter(
  gx: usize, hg: usize, bhn: usize, h: usize, hRow: usize,
  fCode: i32, fa: f32, fb: f32, gCode: i32, ga: f32, gb: f32, clip: f32,
): void {
  for (let j: usize = 0; j < hRow; j += 16) {
    const r = activate4(fCode, fa, fb, clip4(f32x4.add(v128.load(gx + j), v128.load(hg + j)), clip));
    const z = activate4(fCode, fa, fb, clip4(f32x4.add(v128.load(gx + hRow + j), v128.load(hg + hRow + j)), clip));
    const pre = madd(r, f32x4.add(v128.load(hg + 2 * hRow + j), v128.load(bhn + j)), v128.load(gx + 2 * hRow + j));
    const n = activate4(gCode, ga, gb, clip4(pre, clip));
    const hv = v128.load(h + j);
    v128.store(h + j, madd(z, f32x4.sub(hv, n), n));
  }
}

/** Reset gate first, part 1: r and z into hg's first two thirds, r ⊙ h into rh. */
function resetFirst(gx: usize, hg: usize, rh: usize, h: usize, hRow: usize, fCode: i32, fa: f32, fb: f32, clip: f32): void {
  for (let j: usize = 0; j < hRow; j += 16) {
    const r = activate4(fCode, fa, fb, clip4(f32x4.add(v128.load(gx + j), v128.load(hg + j)), clip));
    const z = activate4(fCode, fa, fb, clip4(f32x4.add(v128.load(gx + hRow + j), v128.load(hg + hRow + j)), clip));
    v128.store(hg + hRow + j, z);
    v128.store(rh + j, f32x4.mul(r, v128.load(h + j)));
  }
}

/** Reset gate first, part 2: n from U_n·(r ⊙ h) (in hg's last third), then the blend. */
function candidateFirst(gx: usize, hg: usize, h: usize, hRow: usize, gCode: i32, ga: f32, gb: f32, clip: f32): void {
  for (let j: usize = 0; j < hRow; j += 16) {
    const n = activate4(gCode, ga, gb, clip4(f32x4.add(v128.load(gx + 2 * hRow + j), v128.load(hg + 2 * hRow + j)), clip));
    const z = v128.load(hg + hRow + j);
    const hv = v128.load(h + j);
    v128.store(h + j, madd(z, f32x4.sub(hv, n), n));
  }
}
