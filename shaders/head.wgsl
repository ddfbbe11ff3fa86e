// The output head of a language model: a linear layer to logits, and the greedy choice among them.
//
//   linear:  y[b, o] = bias[o] + Σ_k x[b, k] · W[o, k]           (PyTorch nn.Linear, W [OUT][IN])
//   argmax:  ids[b]  = the smallest o with y[b, o] = max_o y[b, o]   (torch.argmax's first maximum)
//
// In a generator the argmax writes straight into the id buffer that the next step's embedding
// (shaders/embedding.wgsl) reads, so the whole loop stays on the GPU and only the 4-byte id is read
// back per step (to show it); the logits never leave the GPU unless sampling on the CPU asks for them.
//
// linear, bindings (group 0):
//   0  x   read   [B][IN] f32; bound with exactly B·IN·4 bytes
//   1  w   read   Wᵀ as [IN][OUT4] vec4s (OUT4 = ⌈OUT/4⌉, padding columns 0), then the bias [OUT4]
//   2  y   write  [B][OUT] f32; bound with exactly B·OUT·4 bytes, so arrayLength(&y) / OUT = B
//   Overrides: IN, OUT, WG.
//   Shape: invocation (j, b) owns outputs 4j … 4j+3 of row b, so every weight access is one 16-byte
//   load, contiguous across neighbouring invocations, and x[b, k] is the same word for the whole
//   workgroup (a broadcast). FLOPs 2·B·IN·OUT; bytes 16·IN·OUT4 of weights per row (the weights
//   are the cost: for B = 1 and a 256 × 91 head, 94 KB a step).
//
// argmax, bindings (group 0; numbered after linear's so that no two variables of the file share a
// binding, which some compilers reject even across entry points):
//   3  logits  read   [B][N] f32
//   4  ids     write  [B] u32; bound with exactly B·4 bytes
//   Overrides: N.
//   Shape: one workgroup of 64 per row: each invocation scans a stride of the row, then a tree
//   reduction in workgroup memory. Every comparison prefers the larger value and, between equal
//   values, the smaller index, so ties resolve to the first maximum whatever the reduction order;
//   the CPU twin (src/layers/reference.ts) matches it exactly. NaN logits give an unspecified id
//   (WGSL lets a compiler assume there are none).

override IN: u32;
override OUT: u32;
override N: u32;
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn linear(@builtin(global_invocation_id) gid: vec3<u32>) {
  let out4 = (OUT + 3u) / 4u;
  let j = gid.x;
  let b = gid.y;
  if (j >= out4 || b >= arrayLength(&y) / OUT) {
    return;
  }
  var acc = w[IN * out4 + j];
  let xRow = b * IN;
  for (var k = 0u; k < IN; k++) {
    acc += x[xRow + k] * w[k * out4 + j];
  }
  let o = 4u * j;
  let yRow = b * OUT;
  for (var c = 0u; c < 4u; c++) {
    if (o + c < OUT) {
      y[yRow + o + c] = acc[c];
    }
  }
}

@group(0) @binding(3) var<storage, read> logits: array<f32>;
@group(0) @binding(4) var<storage, read_write> ids: array<u32>;

const ARGMAX_WG: u32 = 64u;
const NONE: u32 = 0xffffffffu;

var<workgroup> bestValue: array<f32, ARGMAX_WG>;
var<workgroup> bestIndex: array<u32, ARGMAX_WG>;

/** Whether (v, i) beats (bv, bi): a larger value, or an equal one at a smaller index. */
fn beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return i != NONE && (bi == NONE || v > bv || (v == bv && i < bi));
}

@compute @workgroup_size(ARGMAX_WG)
fn argmax(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let b = wid.x;
  let t = lid.x;
  let row = b * N;
  var v = 0.0;
  var i = NONE;
  // Indices rise along the stride, so a strict > keeps the first of equal values.
  for (var n = t; n < N; n += ARGMAX_WG) {
    let value = logits[row + n];
    if (i == NONE || value > v) {
      v = value;
      i = n;
    }
  }
  bestValue[t] = v;
  bestIndex[t] = i;
  workgroupBarrier();
  for (var s = ARGMAX_WG / 2u; s > 0u; s >>= 1u) {
    if (t < s && beats(bestValue[t + s], bestIndex[t + s], bestValue[t], bestIndex[t])) {
      bestValue[t] = bestValue[t + s];
      bestIndex[t] = bestIndex[t + s];
    }
    workgroupBarrier();
  }
  if (t == 0u && b < arrayLength(&ids)) {
    ids[b] = bestIndex[0];
  }
}
