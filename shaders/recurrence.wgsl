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
//   0  G    read   [T][B][D][3][H4] projection, gates r, z, n, time-major
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
override H4: u32 = (H + 3u) / 4u * 4u;   // the projection's vec4-aligned gate blocks

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
  return ((t * p.batch + b) * D * 3u + d * 3u + gate) * H4 + j;
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

// ---------------------------------------------------------------------------------------------
// Persistent sequence kernels: one dispatch runs every step of a layer. Workgroup (0, b, d) owns
// batch row b of direction d for the whole sequence and keeps its h in workgroup memory
// (ping-pong halves of hq), so a step's only synchronisation is a workgroup barrier — no
// dispatch boundary. Invocation i computes units i, i+WG, …; each reads Uᵀ[d][k][gate·H + j],
// contiguous across the workgroup. Rows are independent, so nothing crosses workgroups.
// Costs per step and row: the same 2·3H·H FLOPs and 4·3H·H bytes of weights as the stepwise
// kernel, but no dispatch overhead; parallelism is only B·D workgroups (the host picks it when
// that is enough, or when the dispatch overhead dominates). Workgroup memory: 2H (+H) floats.
// The row's length is read once through workgroupUniformLoad so the step loop stays uniform.

var<workgroup> hq: array<f32, 2 * H>;   // h of this row: halves `cur` and 1 − cur
var<workgroup> rq: array<f32, H>;       // r ⊙ h, reset-first only
var<workgroup> lenq: u32;

// Loads h0 into half 0 and returns the row's length (uniform across the workgroup).
fn sequence_begin(lid: u32, d: u32, b: u32) -> u32 {
  for (var k = lid; k < H; k += WG) {
    hq[k] = S[state_index(0u, d, b, k)];
  }
  if (lid == 0u) {
    lenq = seq_len(b);
  }
  return workgroupUniformLoad(&lenq);
}

// Zeros the outputs past the row's end and stores its final state where the stepwise
// schedule would leave it: state slot steps % 2.
fn sequence_end(lid: u32, d: u32, b: u32, len: u32, cur: u32) {
  for (var j = lid; j < H; j += WG) {
    for (var t = len; t < p.steps; t++) {
      Y[t * p.outStrideT + b * p.outStrideB + d * H + j] = 0.0;
    }
    S[state_index(p.steps % 2u, d, b, j)] = hq[cur * H + j];
  }
}

fn sequence_time(s: u32, len: u32, d: u32) -> u32 {
  return select(s, len - 1u - s, is_reverse(d));
}

@compute @workgroup_size(WG, 1, 1)
fn sequence_fused(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let b = wid.y;
  let d = wid.z;
  let len = sequence_begin(lid.x, d, b);
  var cur = 0u;
  for (var s = 0u; s < len; s++) {
    let t = sequence_time(s, len, d);
    for (var j = lid.x; j < H; j += WG) {
      var ar = 0.0;
      var az = 0.0;
      var an = 0.0;
      var w = u_index(d, 0u, 0u, j);
      for (var k = 0u; k < H; k++) {
        let hk = hq[cur * H + k];
        ar += U[w] * hk;
        az += U[w + H] * hk;
        an += U[w + 2u * H] * hk;
        w += 3u * H;
      }
      let r = gate_f(G[g_index(t, b, d, 0u, j)] + ar);
      let z = gate_f(G[g_index(t, b, d, 1u, j)] + az);
      let n = gate_g(G[g_index(t, b, d, 2u, j)] + r * (an + U[D * H * 3u * H + d * H + j]));
      let h = (1.0 - z) * n + z * hq[cur * H + j];
      hq[(1u - cur) * H + j] = h;
      Y[t * p.outStrideT + b * p.outStrideB + d * H + j] = h;
    }
    cur = 1u - cur;
    workgroupBarrier();
  }
  sequence_end(lid.x, d, b, len, cur);
}

@compute @workgroup_size(WG, 1, 1)
fn sequence_reset_first(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let b = wid.y;
  let d = wid.z;
  let len = sequence_begin(lid.x, d, b);
  var cur = 0u;
  for (var s = 0u; s < len; s++) {
    let t = sequence_time(s, len, d);
    for (var j = lid.x; j < H; j += WG) {
      var ar = 0.0;
      var w = u_index(d, 0u, 0u, j);
      for (var k = 0u; k < H; k++) {
        ar += U[w] * hq[cur * H + k];
        w += 3u * H;
      }
      rq[j] = gate_f(G[g_index(t, b, d, 0u, j)] + ar) * hq[cur * H + j];
    }
    workgroupBarrier();
    for (var j = lid.x; j < H; j += WG) {
      var az = 0.0;
      var an = 0.0;
      var w = u_index(d, 0u, 1u, j);
      for (var k = 0u; k < H; k++) {
        az += U[w] * hq[cur * H + k];
        an += U[w + H] * rq[k];
        w += 3u * H;
      }
      let z = gate_f(G[g_index(t, b, d, 1u, j)] + az);
      let n = gate_g(G[g_index(t, b, d, 2u, j)] + an);
      let h = (1.0 - z) * n + z * hq[cur * H + j];
      hq[(1u - cur) * H + j] = h;
      Y[t * p.outStrideT + b * p.outStrideB + d * H + j] = h;
    }
    cur = 1u - cur;
    workgroupBarrier();
  }
  sequence_end(lid.x, d, b, len, cur);
}
