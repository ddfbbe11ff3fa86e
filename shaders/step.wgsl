// One GRU timestep of one layer, both directions in the same dispatch.
//
// The input projection G = W·x + b (shaders/projection.wgsl) is already done for every step, so a
// step is the recurrent half: three gate products with h_{t−1}, the activations and the blend
//   r = f(G_r + U_r·h)   z = f(G_z + U_z·h)   h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
//   reset after (PyTorch):  n = g(G_n + r ⊙ (U_n·h + b_hn))              entry point step_fused
//   reset first (Cho/ONNX): n = g(G_n + U_n·(r ⊙ h))   (b_hn folded into G_n)
// each pre-activation clamped to [−CLIP, CLIP] when CLIP > 0.
//
// Why two passes when the reset gate comes first: U_n·(r ⊙ h) needs r for all H units before any
// unit's n, and r needs all of h_{t−1}. WebGPU has no barrier between workgroups, so the only
// global synchronisation is the end of a dispatch: step_reset computes r and stores r ⊙ h
// (scratch slot 2), then step_update computes z and n from h and r ⊙ h and blends. Each pass
// reads the weights once (U_r, then U_z and U_n), so the second pass costs no extra weight traffic.
//
// Work split: workgroup (x, y, z) = (WG units j, 4 batch rows, direction d). The 4 rows of h
// are held as one vec4 per k in workgroup memory, so each weight word loaded from global memory
// feeds 4 FMAs; invocation j reads Uᵀ[d][k][gate·H + j], next to invocation j+1 (coalesced).
// Per step and direction: 2·3H·H·B FLOPs, 4·3H·H bytes of weights (re-read by each group of 4 rows).
//
// Time and sequence lengths: at step s a row b of length len is processed at time t = s (forward)
// or t = len − 1 − s (reverse); once s ≥ len the row only carries h forward and writes 0 to the
// output at time s, which is then past its end in both directions, so every output word is
// written exactly once and nothing needs clearing.
//
// Bindings (group 0, per layer):
//   0  G    read   [T][B][D·3H] projection, gates r, z, n, time-major
//   1  U    read   Uᵀ [D][H][3H], then b_hn [D][H]
//   2  S    rw     [3][L·D][B][H] state: slots 0 and 1 ping-pong h, slot 2 holds r ⊙ h;
//                  then [B] sequence lengths (as f32: exact below 2^24)
//   3  Y    rw     layer output, (t, b) at t·outStrideT + b·outStrideB, direction d at d·H
//   4  p    uniform per-layer sizes
// Group 1: the per-step uniform (s, parity) at a dynamic offset, so that one command encoder can
// hold every step without writeBuffer between dispatches.
// Overrides: H, D, WG, the two activations (code, alpha, beta) and CLIP.

struct Params {
  batch: u32,
  steps: u32,
  stateRows: u32,     // L·D: rows of one state slot
  layerBase: u32,     // l·D: this layer's first row in a slot
  dirBase: u32,       // 1 when the only direction is 'reverse', else 0
  outStrideT: u32,
  outStrideB: u32,
  _pad: u32,
}

struct Step {
  s: u32,        // step index, 0 … T−1 in processing order
  parity: u32,   // state slot holding h_{t−1}; h_t goes to the other
  _pad0: u32,
  _pad1: u32,
}

override H: u32;
override D: u32 = 1u;
override WG: u32 = 64u;
override F_CODE: u32 = 0u;
override F_ALPHA: f32 = 0.0;
override F_BETA: f32 = 0.0;
override G_CODE: u32 = 1u;
override G_ALPHA: f32 = 0.0;
override G_BETA: f32 = 0.0;
override CLIP: f32 = 0.0;

@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<storage, read_write> S: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(1) @binding(0) var<uniform> st: Step;

var<workgroup> hs: array<vec4<f32>, WG>;   // 4 batch rows of h (or r ⊙ h) for one slice of k
var<workgroup> rs: array<vec4<f32>, WG>;   // r ⊙ h, step_update only

// tanh through exp(−2|x|): never overflows, unlike a naive (e^x − e^−x)/(e^x + e^−x).
fn stable_tanh(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}

fn stable_sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

// The ONNX activation set; `code` is an override, so each pipeline keeps one branch.
fn apply_activation(code: u32, alpha: f32, beta: f32, x: f32) -> f32 {
  switch code {
    case 0u: { return stable_sigmoid(x); }
    case 1u: { return stable_tanh(x); }
    case 2u: { return max(x, 0.0); }
    case 3u: { return clamp(alpha * x + beta, 0.0, 1.0); }
    case 4u: { return select(x, alpha * x, x < 0.0); }
    case 5u: { return select(x, alpha * (exp(x) - 1.0), x < 0.0); }
    case 6u: { return x / (1.0 + abs(x)); }
    case 7u: { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }
    case 8u: { return alpha * stable_tanh(beta * x); }
    case 9u: { return alpha * x + beta; }
    case 10u: { return select(0.0, x, x > alpha); }
    default: { return x; }
  }
}

fn clip_pre(x: f32) -> f32 {
  if (CLIP > 0.0) {
    return clamp(x, -CLIP, CLIP);
  }
  return x;
}

fn gate_f(x: f32) -> f32 { return apply_activation(F_CODE, F_ALPHA, F_BETA, clip_pre(x)); }
fn gate_g(x: f32) -> f32 { return apply_activation(G_CODE, G_ALPHA, G_BETA, clip_pre(x)); }

fn state_index(slot: u32, d: u32, b: u32, k: u32) -> u32 {
  return ((slot * p.stateRows + p.layerBase + d) * p.batch + b) * H + k;
}

fn seq_len(b: u32) -> u32 {
  return u32(S[3u * p.stateRows * p.batch * H + b]);
}

// Four batch rows b0 … b0+3 of state slot `slot` at unit k, zero past the batch or H.
fn load_rows(slot: u32, d: u32, b0: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (k < H) {
    for (var q = 0u; q < 4u; q++) {
      if (b0 + q < p.batch) {
        v[q] = S[state_index(slot, d, b0 + q, k)];
      }
    }
  }
  return v;
}

fn is_reverse(d: u32) -> bool {
  return d + p.dirBase == 1u;
}

// Time index of row b at this step, or none (s ≥ len).
fn time_of(d: u32, b: u32) -> i32 {
  let len = seq_len(b);
  if (st.s >= len) {
    return -1;
  }
  return select(i32(st.s), i32(len - 1u - st.s), is_reverse(d));
}

fn g_index(t: u32, b: u32, d: u32, gate: u32, j: u32) -> u32 {
  return (t * p.batch + b) * D * 3u * H + d * 3u * H + gate * H + j;
}

fn u_index(d: u32, k: u32, gate: u32, j: u32) -> u32 {
  return (d * H + k) * 3u * H + gate * H + j;
}

// Blend and store h_t for row b; rows past their length carry h and zero the output at time s.
fn finish(d: u32, b: u32, j: u32, t: i32, z: f32, n: f32) {
  let hp = S[state_index(st.parity, d, b, j)];
  let out = state_index(1u - st.parity, d, b, j);
  if (t < 0) {
    S[out] = hp;
    Y[st.s * p.outStrideT + b * p.outStrideB + d * H + j] = 0.0;
  } else {
    let h = (1.0 - z) * n + z * hp;
    S[out] = h;
    Y[u32(t) * p.outStrideT + b * p.outStrideB + d * H + j] = h;
  }
}

@compute @workgroup_size(WG, 1, 1)
fn step_fused(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let j = wid.x * WG + lid.x;
  let b0 = wid.y * 4u;
  let d = wid.z;
  var accR = vec4<f32>(0.0);
  var accZ = vec4<f32>(0.0);
  var accN = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < H; k0 += WG) {
    hs[lid.x] = load_rows(st.parity, d, b0, k0 + lid.x);
    workgroupBarrier();
    if (j < H) {
      let kn = min(WG, H - k0);
      var w = u_index(d, k0, 0u, j);
      for (var kk = 0u; kk < kn; kk++) {
        let h4 = hs[kk];
        accR += U[w] * h4;
        accZ += U[w + H] * h4;
        accN += U[w + 2u * H] * h4;
        w += 3u * H;
      }
    }
    workgroupBarrier();
  }
  if (j >= H) {
    return;
  }
  let bhn = U[D * H * 3u * H + d * H + j];
  for (var q = 0u; q < 4u; q++) {
    let b = b0 + q;
    if (b >= p.batch) {
      break;
    }
    let t = time_of(d, b);
    var z = 0.0;
    var n = 0.0;
    if (t >= 0) {
      let tu = u32(t);
      let r = gate_f(G[g_index(tu, b, d, 0u, j)] + accR[q]);
      z = gate_f(G[g_index(tu, b, d, 1u, j)] + accZ[q]);
      n = gate_g(G[g_index(tu, b, d, 2u, j)] + r * (accN[q] + bhn));
    }
    finish(d, b, j, t, z, n);
  }
}

@compute @workgroup_size(WG, 1, 1)
fn step_reset(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let j = wid.x * WG + lid.x;
  let b0 = wid.y * 4u;
  let d = wid.z;
  var accR = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < H; k0 += WG) {
    hs[lid.x] = load_rows(st.parity, d, b0, k0 + lid.x);
    workgroupBarrier();
    if (j < H) {
      let kn = min(WG, H - k0);
      var w = u_index(d, k0, 0u, j);
      for (var kk = 0u; kk < kn; kk++) {
        accR += U[w] * hs[kk];
        w += 3u * H;
      }
    }
    workgroupBarrier();
  }
  if (j >= H) {
    return;
  }
  for (var q = 0u; q < 4u; q++) {
    let b = b0 + q;
    if (b >= p.batch) {
      break;
    }
    let t = time_of(d, b);
    var rh = 0.0;
    if (t >= 0) {
      let r = gate_f(G[g_index(u32(t), b, d, 0u, j)] + accR[q]);
      rh = r * S[state_index(st.parity, d, b, j)];
    }
    S[state_index(2u, d, b, j)] = rh;
  }
}

@compute @workgroup_size(WG, 1, 1)
fn step_update(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let j = wid.x * WG + lid.x;
  let b0 = wid.y * 4u;
  let d = wid.z;
  var accZ = vec4<f32>(0.0);
  var accN = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < H; k0 += WG) {
    hs[lid.x] = load_rows(st.parity, d, b0, k0 + lid.x);
    rs[lid.x] = load_rows(2u, d, b0, k0 + lid.x);
    workgroupBarrier();
    if (j < H) {
      let kn = min(WG, H - k0);
      var w = u_index(d, k0, 1u, j);
      for (var kk = 0u; kk < kn; kk++) {
        accZ += U[w] * hs[kk];
        accN += U[w + H] * rs[kk];
        w += 3u * H;
      }
    }
    workgroupBarrier();
  }
  if (j >= H) {
    return;
  }
  for (var q = 0u; q < 4u; q++) {
    let b = b0 + q;
    if (b >= p.batch) {
      break;
    }
    let t = time_of(d, b);
    var z = 0.0;
    var n = 0.0;
    if (t >= 0) {
      let tu = u32(t);
      z = gate_f(G[g_index(tu, b, d, 1u, j)] + accZ[q]);
      n = gate_g(G[g_index(tu, b, d, 2u, j)] + accN[q]);
    }
    finish(d, b, j, t, z, n);
  }
}
