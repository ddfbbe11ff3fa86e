// The recurrent half of a GRU layer, per step:
//   r = f(G_r + U_r·h)   z = f(G_z + U_z·h)   h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
//   reset after (PyTorch):  n = g(G_n + r ⊙ (U_n·h + b_hn))
//   reset first (Cho/ONNX): n = g(G_n + U_n·(r ⊙ h))   (b_hn folded into G_n)
// each pre-activation clamped to [−CLIP, CLIP] when CLIP > 0. G = W·x + b comes from
// shaders/projection.wgsl, computed for every step at once, except where a kernel computes it
// inside the step: sequence_input and sequence_stack (every layer), and the wavefront's layers
// after the first.
//
// Three kernel families for the four schedules of src/schedule.ts. Stepwise and persistent run
// both directions in the same dispatch (workgroup z is the direction); the wavefront has one
// direction, and its z is the layer:
// - stepwise (step_fused; reset first: step_first, or step_reset + step_update for H > 4·WG):
//   one dispatch per timestep (two for step_reset + step_update), spread over
//   ⌈H4/4/WG⌉ × ⌈B/4⌉ × D workgroups; the step index comes from a uniform at a dynamic offset.
// - wavefront (the same entry points with WAVE = true; one direction only): one dispatch runs
//   layer l's step s − l for every layer l with 0 ≤ s − l < T, workgroup z picking the layer, so
//   an L-layer stack takes T + L − 1 dispatches instead of L·T. Layer l > 0 reads layer l − 1's
//   output at the time the previous dispatch wrote it, and projects it here (W·x + b with the
//   same k tiles as U·h), so only layer 0 has a projection dispatch (G). The outputs of layers
//   before the last ping-pong between two halves of a region of S: layer l writes half l % 2 at
//   its own time, which no other layer of the dispatch reads or writes.
// - persistent (sequence, sequence_input, sequence_stack): one dispatch per layer — per stack for
//   one direction — (or per CHUNK steps); workgroup (0, b, d) owns batch row b of direction d for
//   the whole sequence, h in workgroup memory, a workgroup barrier between steps and no dispatch
//   boundary at all.
//
// Why two passes per step when the reset gate comes first (stepwise) and H > 4·WG: U_n·(r ⊙ h)
// needs r for all H units before any unit's n, and r needs all of h_{t−1}. WebGPU has no barrier
// between workgroups, so the only global synchronisation is the end of a dispatch: step_reset
// computes r and stores r ⊙ h (state slot 2), then step_update computes z and n from h and
// r ⊙ h and blends. Each pass reads its own weights once (U_r, then U_z and U_n). Where one
// workgroup holds every unit of its rows (H ≤ 4·WG, so up to 256), step_first does it all in one
// pass with a workgroup barrier, as the persistent kernels do.
//
// Operand shapes: every invocation owns a vec4 of 4 neighbouring units (unit block c = units
// 4c … 4c+3), so each weight access is one 16-byte load, contiguous across the workgroup, and
// the activations work on vec4s. Stepwise also covers 4 batch rows per workgroup (h of the 4 rows
// as one vec4 per k in workgroup memory), so each weight vec4 feeds 4 rows: 16 FMAs per load.
// Per step and direction: 2·3H·H·B FLOPs and 4·3H·H4 bytes of weights per group of rows.
//
// Time and sequence lengths: at step s a row b of length len is processed at time t = s (forward)
// or t = len − 1 − s (reverse). Stepwise: once s ≥ len the row only carries h forward and writes
// 0 to the output at time s, which is then past its end in both directions; persistent: the row
// stops after len steps and zeros times len … T−1. Either way every output word is written once.
//
// Bindings (group 0, per layer; wavefront and sequence_stack: one group for the whole stack):
//   0  G    read   [T][B][D][3][H4] projection, gates r, z, n, time-major (vec4s)
//   1  U    read   the layer's weights (a whole stack's: layer l's from vec4 ly.u on): Uᵀ as
//                  [D][H4/KP][3][C] packs, each a vec4<u32> holding the weights of KP
//                  consecutive k for the 4 units of a block (FORMAT 0: f32 bits, KP = 1;
//                  1: f16 pairs, KP = 2; 2: int8 snorm, KP = 4); then the per-unit scales
//                  [D][3][C] (int8: the row's max |w|; else 1) and b_hn [D][C], both f32 vec4s;
//                  at vec4 p.wOffset the input projection Wᵀ and bias (fused projections)
//   2  S    rw     [3][L·D][B][H] state: slots 0 and 1 ping-pong h, slot 2 holds r ⊙ h;
//                  then [B] sequence lengths (as f32: exact below 2^24); for a whole stack:
//                  then, at p.hiddenBase, [2][T][B][H] the outputs of the layers before the last
//   3  Y    rw     layer output, (t, b) at t·outStrideT + b·outStrideB, direction d at d·H
//   4  p    uniform per-layer sizes
//   5  X    read   the layer input (sequence_input, sequence_stack: they use no G)
// Group 1: the per-step uniform (s, parity, first layer) at a dynamic offset, so that one command
// encoder holds every step (or chunk of steps, for the persistent kernels) with no writeBuffer between
// dispatches.
// Overrides: H, D, WG, FORMAT and KP, the two activations (code, alpha, beta), CLIP, and WAVE
// (the step kernels as a wavefront); the persistent kernels' CHUNK, RESET_AFTER, XK and XI are
// described before them, below. H4, C and KPACKS follow from H and KP. Group 0's `p` and group 1's
// `st` are written by field name from src/uniforms.ts, which test/suite/schedule.ts holds against
// struct Params and struct Step.
// Packed weights cut the bytes and the number of loads per FMA (on SwiftShader the loads are
// the cost): f16 halves both, int8 quarters them; unpack2x16float and unpack4x8snorm are core
// WGSL, so neither needs the shader-f16 feature.

struct Params {
  batch: u32,
  steps: u32,
  stateRows: u32,     // L·D: rows of one state slot
  layerBase: u32,     // l·D: this layer's first row in a slot
  dirBase: u32,       // 1 when the only direction is 'reverse', else 0
  outStrideT: u32,
  outStrideB: u32,
  inStrideT: u32,     // sequence_input, sequence_stack: X offset of step t
  inStrideB: u32,     // sequence_input, sequence_stack: X offset of batch row b
  wOffset: u32,       // fused projections: vec4 index of Wᵀ in a layer's weights
  uBase1: u32,        // whole stack: vec4 index of layer 1's weights in U
  uStride: u32,       // whole stack: vec4s between the weights of layers l and l + 1 (l ≥ 1)
  hiddenBase: u32,    // whole stack: index in S of the hidden outputs
  layers: u32,        // whole stack: L
  _pad0: u32,
  _pad1: u32,
}

struct Step {
  s: u32,        // step index, 0 … T−1 in processing order (wavefront: 0 … T+L−2)
  parity: u32,   // state slot holding h_{t−1}; h_t goes to the other (wavefront: for layer 0)
  first: u32,    // wavefront: the layer of workgroup z = 0
  _pad0: u32,
}

// The layer an invocation works on, set by enter() at the start of every entry point.
struct Layer {
  row: u32,      // its first row in a state slot: l·D
  u: u32,        // vec4 index of its weights in U
  s: u32,        // its step index
  parity: u32,   // the state slot holding its h_{t−1}
  l: u32,        // wavefront, sequence_stack: the layer
  hidden: bool,  // its outputs go to the hidden region of S (a stack's layers before the last)
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
override H4: u32 = (H + 3u) / 4u * 4u;   // H padded to whole unit blocks
override C: u32 = H4 / 4u;                // unit blocks
override FORMAT: u32 = 0u;                // weight storage: 0 f32, 1 f16, 2 int8
override KP: u32 = 1u;                    // k per weight pack: 1, 2, 4 for FORMAT 0, 1, 2
override KPACKS: u32 = H4 / KP;           // packs per gate row, covering H4 (zero past H)
override WAVE: bool = false;              // step kernels: the wavefront schedule

@group(0) @binding(0) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> U: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> S: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(1) @binding(0) var<uniform> st: Step;
var<private> ly: Layer;

// Sets ly from workgroup z and returns the direction: z is the direction, except in a wavefront
// dispatch (one direction), where it is the layer, counted from st.first.
fn enter(z: u32) -> u32 {
  if (WAVE) {
    let l = st.first + z;
    enter_layer(l, st.s - l, (st.parity + l) % 2u);
    return 0u;
  }
  ly = Layer(p.layerBase, 0u, st.s, st.parity, 0u, false);
  return z;
}

// Layer l of a stack bound whole (wavefront, sequence_stack), at step s, h_{t−1} in slot parity.
fn enter_layer(l: u32, s: u32, parity: u32) {
  ly = Layer(l, select(p.uBase1 + (l - 1u) * p.uStride, 0u, l == 0u), s, parity, l, l + 1u < p.layers);
}

// tanh through exp(−2|x|): never overflows, unlike a naive (e^x − e^−x)/(e^x + e^−x).
fn stable_tanh(x: vec4<f32>) -> vec4<f32> {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}

fn stable_sigmoid(x: vec4<f32>) -> vec4<f32> {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= vec4<f32>(0.0));
}

// The ONNX activation set; `code` is an override, so each pipeline keeps one branch.
fn apply_activation(code: u32, alpha: f32, beta: f32, x: vec4<f32>) -> vec4<f32> {
  let zero = vec4<f32>(0.0);
  switch code {
    case 0u: { return stable_sigmoid(x); }
    case 1u: { return stable_tanh(x); }
    case 2u: { return max(x, zero); }
    case 3u: { return clamp(alpha * x + beta, zero, vec4<f32>(1.0)); }
    case 4u: { return select(x, alpha * x, x < zero); }
    case 5u: { return select(x, alpha * (exp(x) - 1.0), x < zero); }
    case 6u: { return x / (1.0 + abs(x)); }
    case 7u: { return max(x, zero) + log(1.0 + exp(-abs(x))); }
    case 8u: { return alpha * stable_tanh(beta * x); }
    case 9u: { return alpha * x + beta; }
    case 10u: { return select(zero, x, x > vec4<f32>(alpha)); }
    default: { return x; }
  }
}

fn clip_pre(x: vec4<f32>) -> vec4<f32> {
  if (CLIP > 0.0) {
    return clamp(x, vec4<f32>(-CLIP), vec4<f32>(CLIP));
  }
  return x;
}

fn gate_f(x: vec4<f32>) -> vec4<f32> { return apply_activation(F_CODE, F_ALPHA, F_BETA, clip_pre(x)); }
fn gate_g(x: vec4<f32>) -> vec4<f32> { return apply_activation(G_CODE, G_ALPHA, G_BETA, clip_pre(x)); }

fn state_index(slot: u32, d: u32, b: u32, k: u32) -> u32 {
  return ((slot * p.stateRows + ly.row + d) * p.batch + b) * H + k;
}

fn seq_len(b: u32) -> u32 {
  return u32(S[3u * p.stateRows * p.batch * H + b]);
}

fn is_reverse(d: u32) -> bool {
  return d + p.dirBase == 1u;
}

// vec4 index of gate block `gate`, unit block c, of row (t, b) and direction d in G.
fn g_index(t: u32, b: u32, d: u32, gate: u32, c: u32) -> u32 {
  return ((t * p.batch + b) * D * 3u + d * 3u + gate) * C + c;
}

// Index of the weight pack of k-pack kp, gate, unit block c.
fn u_index(d: u32, kp: u32, gate: u32, c: u32) -> u32 {
  return ly.u + ((d * KPACKS + kp) * 3u + gate) * C + c;
}

// The weights of the i-th k of a pack for the 4 units (int8: before the row scale).
fn unpack_weights(w: vec4<u32>, i: u32) -> vec4<f32> {
  if (FORMAT == 1u) {
    return select(vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w)),
                  vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)), i == 0u);
  }
  if (FORMAT == 2u) {
    return unpack4x8snorm(w[i]);
  }
  return bitcast<vec4<f32>>(w);
}

fn row_scale(d: u32, gate: u32, c: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>(U[ly.u + D * KPACKS * 3u * C + (d * 3u + gate) * C + c]);
}

fn bias_hn(d: u32, c: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>(U[ly.u + D * KPACKS * 3u * C + D * 3u * C + d * C + c]);
}

// The 4 units of block c of one state row, zero past H.
fn load_units(slot: u32, d: u32, b: u32, c: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (4u * c + e < H) {
      v[e] = S[state_index(slot, d, b, 4u * c + e)];
    }
  }
  return v;
}

fn store_units(slot: u32, d: u32, b: u32, c: u32, v: vec4<f32>) {
  for (var e = 0u; e < 4u; e++) {
    if (4u * c + e < H) {
      S[state_index(slot, d, b, 4u * c + e)] = v[e];
    }
  }
}

// Index in S of layer output half `half` at (t, b), wavefront only.
fn hidden_index(half: u32, t: u32, b: u32) -> u32 {
  return p.hiddenBase + ((half * p.steps + t) * p.batch + b) * H;
}

fn store_output(t: u32, b: u32, d: u32, c: u32, v: vec4<f32>) {
  for (var e = 0u; e < 4u; e++) {
    if (4u * c + e < H) {
      if (ly.hidden) {
        S[hidden_index(ly.l % 2u, t, b) + 4u * c + e] = v[e];
      } else {
        Y[t * p.outStrideT + b * p.outStrideB + d * H + 4u * c + e] = v[e];
      }
    }
  }
}

fn blend(z: vec4<f32>, n: vec4<f32>, h: vec4<f32>) -> vec4<f32> {
  return (1.0 - z) * n + z * h;
}

// ---------------------------------------------------------------------------------------------
// Stepwise kernels: workgroup (x, y, z) = (WG unit blocks, 4 batch rows b0…b0+3, direction d or,
// wavefront, layer). A wavefront layer l > 0 also stages x_t (its input at the row's time) in xs
// and accumulates W·x beside U·h over the same k tiles (K = H with one direction).

var<workgroup> hs: array<vec4<f32>, WG>;   // h of the 4 rows at units k0 … k0+WG−1
var<workgroup> rs: array<vec4<f32>, WG>;   // r ⊙ h likewise, step_update only
var<workgroup> xs: array<vec4<f32>, WG>;   // x_t likewise, wavefront layers after the first

// h (or r ⊙ h) of rows b0 … b0+3 at unit k of state slot `slot`, as one vec4 over rows.
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

// Time index of row b at this step, or −1 once s ≥ its length.
fn time_of(d: u32, b: u32) -> i32 {
  let len = seq_len(b);
  if (ly.s >= len) {
    return -1;
  }
  return select(i32(ly.s), i32(len - 1u - ly.s), is_reverse(d));
}

// time_of for rows b0 … b0+3; −1 past the batch.
fn row_times(d: u32, b0: u32) -> vec4<i32> {
  var t = vec4<i32>(-1);
  for (var q = 0u; q < 4u; q++) {
    if (b0 + q < p.batch) {
      t[q] = time_of(d, b0 + q);
    }
  }
  return t;
}

// Wavefront, layer l > 0: input unit k of rows b0 … b0+3 (layer l − 1's output at each row's time).
fn load_inputs(times: vec4<i32>, b0: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (k < H) {
    for (var q = 0u; q < 4u; q++) {
      if (times[q] >= 0) {
        v[q] = S[hidden_index((ly.l - 1u) % 2u, u32(times[q]), b0 + q) + k];
      }
    }
  }
  return v;
}

// W_gate·x_t over the k tile from k0, for unit block c and the 4 rows (Wᵀ is f32, K = H).
fn input_tile(gate: u32, c: u32, k0: u32, acc: ptr<function, array<vec4<f32>, 4>>) {
  for (var k = k0; k < min(k0 + WG, H); k++) {
    let w = bitcast<vec4<f32>>(U[ly.u + p.wOffset + (k * 3u + gate) * C + c]);
    let x4 = xs[k - k0];
    (*acc)[0] += w * x4.x; (*acc)[1] += w * x4.y; (*acc)[2] += w * x4.z; (*acc)[3] += w * x4.w;
  }
}

// The gate input of unit block c at (t, b): G, or for a wavefront layer l > 0 the bias plus the
// W·x it accumulated.
fn gate_input(projected: bool, t: u32, b: u32, d: u32, gate: u32, c: u32, wx: vec4<f32>) -> vec4<f32> {
  if (projected) {
    return bitcast<vec4<f32>>(U[ly.u + p.wOffset + (H * 3u + gate) * C + c]) + wx;
  }
  return G[g_index(t, b, d, gate, c)];
}

// Blend and store h_t for row b; rows past their length carry h and zero the output at time s.
fn step_finish(d: u32, b: u32, c: u32, t: i32, z: vec4<f32>, n: vec4<f32>) {
  let hp = load_units(ly.parity, d, b, c);
  if (t < 0) {
    store_units(1u - ly.parity, d, b, c, hp);
    store_output(ly.s, b, d, c, vec4<f32>(0.0));
  } else {
    let h = blend(z, n, hp);
    store_units(1u - ly.parity, d, b, c, h);
    store_output(u32(t), b, d, c, h);
  }
}

@compute @workgroup_size(WG, 1, 1)
fn step_fused(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let d = enter(wid.z);
  let c = wid.x * WG + lid.x;
  let b0 = wid.y * 4u;
  let projected = WAVE && ly.l > 0u;
  let times = row_times(d, b0);
  // acc{gate}[q]: rows b0 + q, the 4 units of block c; x{gate}: W·x of the projected layers.
  var accR: array<vec4<f32>, 4>;
  var accZ: array<vec4<f32>, 4>;
  var accN: array<vec4<f32>, 4>;
  var xR: array<vec4<f32>, 4>;
  var xZ: array<vec4<f32>, 4>;
  var xN: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < H; k0 += WG) {
    hs[lid.x] = load_rows(ly.parity, d, b0, k0 + lid.x);
    if (projected) {
      xs[lid.x] = load_inputs(times, b0, k0 + lid.x);
    }
    workgroupBarrier();
    if (c < C) {
      for (var kp = k0 / KP; kp * KP < min(k0 + WG, H); kp++) {
        let w = u_index(d, kp, 0u, c);
        let pr = U[w];
        let pz = U[w + C];
        let pn = U[w + 2u * C];
        for (var i = 0u; i < KP; i++) {
          let h4 = hs[kp * KP + i - k0];
          let ur = unpack_weights(pr, i);
          let uz = unpack_weights(pz, i);
          let un = unpack_weights(pn, i);
          accR[0] += ur * h4.x; accR[1] += ur * h4.y; accR[2] += ur * h4.z; accR[3] += ur * h4.w;
          accZ[0] += uz * h4.x; accZ[1] += uz * h4.y; accZ[2] += uz * h4.z; accZ[3] += uz * h4.w;
          accN[0] += un * h4.x; accN[1] += un * h4.y; accN[2] += un * h4.z; accN[3] += un * h4.w;
        }
      }
      if (projected) {
        input_tile(0u, c, k0, &xR);
        input_tile(1u, c, k0, &xZ);
        input_tile(2u, c, k0, &xN);
      }
    }
    workgroupBarrier();
  }
  if (c >= C) {
    return;
  }
  let bhn = bias_hn(d, c);
  let sr = row_scale(d, 0u, c);
  let sz = row_scale(d, 1u, c);
  let sn = row_scale(d, 2u, c);
  for (var q = 0u; q < 4u; q++) {
    let b = b0 + q;
    if (b >= p.batch) {
      break;
    }
    let t = times[q];
    var z = vec4<f32>(0.0);
    var n = vec4<f32>(0.0);
    if (t >= 0) {
      let tu = u32(t);
      let r = gate_f(gate_input(projected, tu, b, d, 0u, c, xR[q]) + sr * accR[q]);
      z = gate_f(gate_input(projected, tu, b, d, 1u, c, xZ[q]) + sz * accZ[q]);
      n = gate_g(gate_input(projected, tu, b, d, 2u, c, xN[q]) + r * (sn * accN[q] + bhn));
    }
    step_finish(d, b, c, t, z, n);
  }
}

@compute @workgroup_size(WG, 1, 1)
fn step_reset(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let d = enter(wid.z);
  let c = wid.x * WG + lid.x;
  let b0 = wid.y * 4u;
  let projected = WAVE && ly.l > 0u;
  let times = row_times(d, b0);
  var accR: array<vec4<f32>, 4>;
  var xR: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < H; k0 += WG) {
    hs[lid.x] = load_rows(ly.parity, d, b0, k0 + lid.x);
    if (projected) {
      xs[lid.x] = load_inputs(times, b0, k0 + lid.x);
    }
    workgroupBarrier();
    if (c < C) {
      for (var kp = k0 / KP; kp * KP < min(k0 + WG, H); kp++) {
        let pr = U[u_index(d, kp, 0u, c)];
        for (var i = 0u; i < KP; i++) {
          let h4 = hs[kp * KP + i - k0];
          let ur = unpack_weights(pr, i);
          accR[0] += ur * h4.x; accR[1] += ur * h4.y; accR[2] += ur * h4.z; accR[3] += ur * h4.w;
        }
      }
      if (projected) {
        input_tile(0u, c, k0, &xR);
      }
    }
    workgroupBarrier();
  }
  if (c >= C) {
    return;
  }
  let sr = row_scale(d, 0u, c);
  for (var q = 0u; q < 4u; q++) {
    let b = b0 + q;
    if (b >= p.batch) {
      break;
    }
    let t = times[q];
    var rh = vec4<f32>(0.0);
    if (t >= 0) {
      let r = gate_f(gate_input(projected, u32(t), b, d, 0u, c, xR[q]) + sr * accR[q]);
      rh = r * load_units(ly.parity, d, b, c);
    }
    store_units(2u, d, b, c, rh);
  }
}

@compute @workgroup_size(WG, 1, 1)
fn step_update(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let d = enter(wid.z);
  let c = wid.x * WG + lid.x;
  let b0 = wid.y * 4u;
  let projected = WAVE && ly.l > 0u;
  let times = row_times(d, b0);
  var accZ: array<vec4<f32>, 4>;
  var accN: array<vec4<f32>, 4>;
  var xZ: array<vec4<f32>, 4>;
  var xN: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < H; k0 += WG) {
    hs[lid.x] = load_rows(ly.parity, d, b0, k0 + lid.x);
    rs[lid.x] = load_rows(2u, d, b0, k0 + lid.x);
    if (projected) {
      xs[lid.x] = load_inputs(times, b0, k0 + lid.x);
    }
    workgroupBarrier();
    if (c < C) {
      for (var kp = k0 / KP; kp * KP < min(k0 + WG, H); kp++) {
        let w = u_index(d, kp, 1u, c);
        let pz = U[w];
        let pn = U[w + C];
        for (var i = 0u; i < KP; i++) {
          let h4 = hs[kp * KP + i - k0];
          let r4 = rs[kp * KP + i - k0];
          let uz = unpack_weights(pz, i);
          let un = unpack_weights(pn, i);
          accZ[0] += uz * h4.x; accZ[1] += uz * h4.y; accZ[2] += uz * h4.z; accZ[3] += uz * h4.w;
          accN[0] += un * r4.x; accN[1] += un * r4.y; accN[2] += un * r4.z; accN[3] += un * r4.w;
        }
      }
      if (projected) {
        input_tile(1u, c, k0, &xZ);
        input_tile(2u, c, k0, &xN);
      }
    }
    workgroupBarrier();
  }
  if (c >= C) {
    return;
  }
  let sz = row_scale(d, 1u, c);
  let sn = row_scale(d, 2u, c);
  for (var q = 0u; q < 4u; q++) {
    let b = b0 + q;
    if (b >= p.batch) {
      break;
    }
    let t = times[q];
    var z = vec4<f32>(0.0);
    var n = vec4<f32>(0.0);
    if (t >= 0) {
      let tu = u32(t);
      z = gate_f(gate_input(projected, tu, b, d, 1u, c, xZ[q]) + sz * accZ[q]);
      n = gate_g(gate_input(projected, tu, b, d, 2u, c, xN[q]) + sn * accN[q]);
    }
    step_finish(d, b, c, t, z, n);
  }
}

var<workgroup> rhs: array<vec4<f32>, 4 * WG>;   // r ⊙ h of the 4 rows at every unit, step_first only

// Reset first in one pass, for H ≤ 4·WG (one workgroup along x, invocation c = unit block c):
// U_r·h and U_z·h over the k tiles, then r ⊙ h of every unit into rhs, a barrier, and U_n·(r ⊙ h).
@compute @workgroup_size(WG, 1, 1)
fn step_first(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let d = enter(wid.z);
  let c = lid.x;
  let b0 = wid.y * 4u;
  let projected = WAVE && ly.l > 0u;
  let times = row_times(d, b0);
  var accR: array<vec4<f32>, 4>;
  var accZ: array<vec4<f32>, 4>;
  var accN: array<vec4<f32>, 4>;
  var xR: array<vec4<f32>, 4>;
  var xZ: array<vec4<f32>, 4>;
  var xN: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < H; k0 += WG) {
    hs[lid.x] = load_rows(ly.parity, d, b0, k0 + lid.x);
    if (projected) {
      xs[lid.x] = load_inputs(times, b0, k0 + lid.x);
    }
    workgroupBarrier();
    if (c < C) {
      for (var kp = k0 / KP; kp * KP < min(k0 + WG, H); kp++) {
        let w = u_index(d, kp, 0u, c);
        let pr = U[w];
        let pz = U[w + C];
        for (var i = 0u; i < KP; i++) {
          let h4 = hs[kp * KP + i - k0];
          let ur = unpack_weights(pr, i);
          let uz = unpack_weights(pz, i);
          accR[0] += ur * h4.x; accR[1] += ur * h4.y; accR[2] += ur * h4.z; accR[3] += ur * h4.w;
          accZ[0] += uz * h4.x; accZ[1] += uz * h4.y; accZ[2] += uz * h4.z; accZ[3] += uz * h4.w;
        }
      }
      if (projected) {
        input_tile(0u, c, k0, &xR);
        input_tile(1u, c, k0, &xZ);
        input_tile(2u, c, k0, &xN);
      }
    }
    workgroupBarrier();
  }
  if (c < C) {
    // r ⊙ h of units 4c … 4c+3 for the 4 rows, stored by unit as a vec4 over rows (zero past H,
    // past the batch and past a row's length).
    let sr = row_scale(d, 0u, c);
    var rh: array<vec4<f32>, 4>;
    for (var q = 0u; q < 4u; q++) {
      if (times[q] >= 0) {
        let r = gate_f(gate_input(projected, u32(times[q]), b0 + q, d, 0u, c, xR[q]) + sr * accR[q]);
        rh[q] = r * load_units(ly.parity, d, b0 + q, c);
      }
    }
    for (var e = 0u; e < 4u; e++) {
      rhs[4u * c + e] = vec4<f32>(rh[0][e], rh[1][e], rh[2][e], rh[3][e]);
    }
  }
  workgroupBarrier();
  if (c >= C) {
    return;
  }
  for (var kp = 0u; kp < KPACKS; kp++) {
    let pn = U[u_index(d, kp, 2u, c)];
    for (var i = 0u; i < KP; i++) {
      let r4 = rhs[kp * KP + i];
      let un = unpack_weights(pn, i);
      accN[0] += un * r4.x; accN[1] += un * r4.y; accN[2] += un * r4.z; accN[3] += un * r4.w;
    }
  }
  let sz = row_scale(d, 1u, c);
  let sn = row_scale(d, 2u, c);
  for (var q = 0u; q < 4u; q++) {
    let b = b0 + q;
    if (b >= p.batch) {
      break;
    }
    let t = times[q];
    var z = vec4<f32>(0.0);
    var n = vec4<f32>(0.0);
    if (t >= 0) {
      let tu = u32(t);
      z = gate_f(gate_input(projected, tu, b, d, 1u, c, xZ[q]) + sz * accZ[q]);
      n = gate_g(gate_input(projected, tu, b, d, 2u, c, xN[q]) + sn * accN[q]);
    }
    step_finish(d, b, c, t, z, n);
  }
}

// ---------------------------------------------------------------------------------------------
// Persistent kernels: workgroup (0, b, d) runs every step of row b, direction d. Invocation i
// owns unit blocks i, i+WG, …; h lives in workgroup memory (ping-pong thirds 0 and 1 of hq,
// r ⊙ h in third 2), read as a broadcast scalar per k. Parallelism is only B·D workgroups, so the
// host picks these when that is enough or when per-dispatch overhead would dominate.
// - sequence: the gate inputs come from G (one projection dispatch per layer before);
// - sequence_input: the projection is fused in — x_t is staged in workgroup memory and each
//   invocation computes W·x_t + b for its own units — so a layer is ONE dispatch, and a
//   one-layer GRU one dispatch per forward. Wᵀ [K][D·3·H4] and its bias are read from the
//   layer's weight buffer at vec4 offset p.wOffset (shaders/projection.wgsl's layout).
// - sequence_stack: a stack of one direction in ONE dispatch. Workgroup (0, b, 0) runs the
//   chunk's steps of row b through layer 0, then layer 1, …: a layer after the first stages its
//   x_t from the previous layer's output in the hidden region of S, which only this workgroup
//   wrote for row b, so a storageBarrier() between layers is all the synchronisation it needs.
// Each invocation writes the gate inputs of its own unit blocks to giq and reads back only
// those, so staging them needs no barrier. The row's length comes through workgroupUniformLoad
// so the step loop stays uniform.
// A dispatch runs at most CHUNK steps, from step st.s (group 1, as for stepwise), reading h from
// state slot st.parity and leaving it in the other. Mesa's llvmpipe stops a loop after 65 535
// iterations counted over the whole invocation (an inner loop's count does not restart with its
// outer loop) and goes on silently: a single dispatch of H = I = 256 went wrong after 76 steps,
// H = 8 after ~9 400. The host sizes CHUNK per adapter (2048 elsewhere), src/schedule.ts
// `persistentChunk`.

override CHUNK: u32 = 2048u;
override RESET_AFTER: bool = true;          // persistent kernels: which n the step computes

override XK: u32 = 1u;                      // sequence_input: the layer's input width K; sequence_stack: max(I, H)
override XI: u32 = 1u;                      // sequence_stack: layer 0's input width I
@group(0) @binding(5) var<storage, read> X: array<f32>;   // sequence_input: the layer input

var<workgroup> hq: array<vec4<f32>, 3 * C>; // h of this row by unit block: thirds `cur` and 1 − cur; r ⊙ h: third 2
var<workgroup> giq: array<vec4<f32>, 3 * C>; // gate inputs r, z, n of each unit block
var<workgroup> xq: array<f32, XK>;          // x_t, sequence_input and sequence_stack
var<workgroup> lenq: u32;

// Units past H stay 0, so the padding of a weight pack (zero weights) never meets inf or NaN.
fn mask_units(c: u32, v: vec4<f32>) -> vec4<f32> {
  return select(v, vec4<f32>(0.0), vec4<u32>(4u * c) + vec4<u32>(0u, 1u, 2u, 3u) >= vec4<u32>(H));
}

fn hq_units(third: u32, c: u32) -> vec4<f32> {
  return hq[third * C + c];
}

fn set_hq_units(third: u32, c: u32, v: vec4<f32>) {
  hq[third * C + c] = v;
}

// U_gate · v for unit block c, v = third `third` of hq, scaled (int8). h is read 4 k at a time
// (one workgroup load per 4/KP weight packs); packs cover H4, zero past H, as is h.
fn recurrent_dot(d: u32, gate: u32, c: u32, third: u32) -> vec4<f32> {
  var acc = vec4<f32>(0.0);
  for (var kb = 0u; kb < C; kb++) {
    let h4 = hq[third * C + kb];
    for (var j = 0u; j < 4u / KP; j++) {
      let w = U[u_index(d, kb * (4u / KP) + j, gate, c)];
      for (var i = 0u; i < KP; i++) {
        acc += unpack_weights(w, i) * h4[j * KP + i];
      }
    }
  }
  return row_scale(d, gate, c) * acc;
}

// U_r·h, U_z·h and U_n·h together, sharing each load of h.
fn recurrent_dot3(d: u32, c: u32, third: u32) -> array<vec4<f32>, 3> {
  var ar = vec4<f32>(0.0);
  var az = vec4<f32>(0.0);
  var an = vec4<f32>(0.0);
  for (var kb = 0u; kb < C; kb++) {
    let h4 = hq[third * C + kb];
    for (var j = 0u; j < 4u / KP; j++) {
      let w = u_index(d, kb * (4u / KP) + j, 0u, c);
      let pr = U[w];
      let pz = U[w + C];
      let pn = U[w + 2u * C];
      for (var i = 0u; i < KP; i++) {
        let hk = h4[j * KP + i];
        ar += unpack_weights(pr, i) * hk;
        az += unpack_weights(pz, i) * hk;
        an += unpack_weights(pn, i) * hk;
      }
    }
  }
  return array<vec4<f32>, 3>(row_scale(d, 0u, c) * ar, row_scale(d, 1u, c) * az, row_scale(d, 2u, c) * an);
}

// Loads h from state slot st.parity into third 0 (zero padding past H) and returns the end of
// this dispatch's steps for the row, min(len, st.s + CHUNK), uniformly.
fn sequence_begin(lid: u32, d: u32, b: u32) -> u32 {
  for (var c = lid; c < C; c += WG) {
    set_hq_units(0u, c, load_units(st.parity, d, b, c));
  }
  if (lid == 0u) {
    lenq = seq_len(b);
  }
  return workgroupUniformLoad(&lenq);
}

// Zeros the outputs at times past the row's end that fall in this chunk, and stores the state
// in the other slot for the next chunk (or as hN).
fn sequence_end(lid: u32, d: u32, b: u32, len: u32, cur: u32) {
  for (var c = lid; c < C; c += WG) {
    for (var t = max(len, st.s); t < min(p.steps, st.s + CHUNK); t++) {
      store_output(t, b, d, c, vec4<f32>(0.0));
    }
    store_units(1u - st.parity, d, b, c, hq_units(cur, c));
  }
}

fn sequence_time(s: u32, len: u32, d: u32) -> u32 {
  return select(s, len - 1u - s, is_reverse(d));
}

// One step, reset after, from the gate inputs in giq; ends with the step's barrier.
fn sequence_step_after(lid: u32, d: u32, b: u32, t: u32, cur: u32) {
  for (var c = lid; c < C; c += WG) {
    let u = recurrent_dot3(d, c, cur);
    let r = gate_f(giq[3u * c] + u[0]);
    let z = gate_f(giq[3u * c + 1u] + u[1]);
    let n = gate_g(giq[3u * c + 2u] + r * (u[2] + bias_hn(d, c)));
    let h = mask_units(c, blend(z, n, hq_units(cur, c)));
    set_hq_units(1u - cur, c, h);
    store_output(t, b, d, c, h);
  }
  workgroupBarrier();
}

// One step, reset first: r ⊙ h for every unit, a barrier, then z, n and the blend.
fn sequence_step_first(lid: u32, d: u32, b: u32, t: u32, cur: u32) {
  for (var c = lid; c < C; c += WG) {
    let r = gate_f(giq[3u * c] + recurrent_dot(d, 0u, c, cur));
    set_hq_units(2u, c, r * hq_units(cur, c));
  }
  workgroupBarrier();
  for (var c = lid; c < C; c += WG) {
    let z = gate_f(giq[3u * c + 1u] + recurrent_dot(d, 1u, c, cur));
    let n = gate_g(giq[3u * c + 2u] + recurrent_dot(d, 2u, c, 2u));
    let h = mask_units(c, blend(z, n, hq_units(cur, c)));
    set_hq_units(1u - cur, c, h);
    store_output(t, b, d, c, h);
  }
  workgroupBarrier();
}

// Gate inputs from G for the invocation's own unit blocks.
fn stage_projection(lid: u32, d: u32, b: u32, t: u32) {
  for (var c = lid; c < C; c += WG) {
    for (var gate = 0u; gate < 3u; gate++) {
      giq[3u * c + gate] = G[g_index(t, b, d, gate, c)];
    }
  }
}

// x_t of width K into xq (all invocations), a barrier, then W·x_t + b for the invocation's own
// unit blocks. x_t is the input X, or in a stack past layer 0 the previous layer's output.
fn stage_input(lid: u32, d: u32, b: u32, t: u32, K: u32) {
  for (var k = lid; k < K; k += WG) {
    if (ly.l == 0u) {
      xq[k] = X[t * p.inStrideT + b * p.inStrideB + k];
    } else {
      xq[k] = S[hidden_index((ly.l - 1u) % 2u, t, b) + k];
    }
  }
  workgroupBarrier();
  let n4 = D * 3u * C;
  for (var c = lid; c < C; c += WG) {
    for (var gate = 0u; gate < 3u; gate++) {
      let col = ly.u + p.wOffset + (d * 3u + gate) * C + c;
      var acc = bitcast<vec4<f32>>(U[col + K * n4]);
      for (var k = 0u; k < K; k++) {
        acc += bitcast<vec4<f32>>(U[col + k * n4]) * xq[k];
      }
      giq[3u * c + gate] = acc;
    }
  }
}

fn sequence_step(lid: u32, d: u32, b: u32, t: u32, cur: u32) {
  if (RESET_AFTER) {
    sequence_step_after(lid, d, b, t, cur);
  } else {
    sequence_step_first(lid, d, b, t, cur);
  }
}

@compute @workgroup_size(WG, 1, 1)
fn sequence(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  _ = enter(wid.z);
  let len = sequence_begin(lid.x, wid.z, wid.y);
  var cur = 0u;
  for (var s = st.s; s < min(len, st.s + CHUNK); s++) {
    let t = sequence_time(s, len, wid.z);
    stage_projection(lid.x, wid.z, wid.y, t);
    sequence_step(lid.x, wid.z, wid.y, t, cur);
    cur = 1u - cur;
  }
  sequence_end(lid.x, wid.z, wid.y, len, cur);
}

@compute @workgroup_size(WG, 1, 1)
fn sequence_input(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  _ = enter(wid.z);
  let len = sequence_begin(lid.x, wid.z, wid.y);
  var cur = 0u;
  for (var s = st.s; s < min(len, st.s + CHUNK); s++) {
    let t = sequence_time(s, len, wid.z);
    stage_input(lid.x, wid.z, wid.y, t, XK);
    sequence_step(lid.x, wid.z, wid.y, t, cur);
    cur = 1u - cur;
  }
  sequence_end(lid.x, wid.z, wid.y, len, cur);
}

@compute @workgroup_size(WG, 1, 1)
fn sequence_stack(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  for (var l = 0u; l < p.layers; l++) {
    enter_layer(l, st.s, st.parity);
    let len = sequence_begin(lid.x, 0u, wid.y);
    var cur = 0u;
    for (var s = st.s; s < min(len, st.s + CHUNK); s++) {
      let t = sequence_time(s, len, 0u);
      stage_input(lid.x, 0u, wid.y, t, select(H, XI, l == 0u));
      sequence_step(lid.x, 0u, wid.y, t, cur);
      cur = 1u - cur;
    }
    sequence_end(lid.x, 0u, wid.y, len, cur);
    storageBarrier();
  }
}
