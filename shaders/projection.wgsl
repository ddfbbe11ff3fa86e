// Input projection of one GRU layer, for every timestep and both directions at once:
//
//   G[m, n] = Σ_k A[row(m), k] · Wt[k, n] + bias[n]      m = t·B + b,  n = d·3H4 + gate·H4 + j
//
// One tiled matrix product of M = T·B rows, N = D·3·H4 columns (H4 = H rounded up to a multiple
// of 4; the padding columns have zero weights) and depth K (I for layer 0, D·H after), instead of
// T small ones inside the recurrence: the step kernels then only add U·h.
// FLOPs 2·M·N·K; with 32×32 tiles each A and W word is read from memory N/32 and M/32 times.
//
// Bindings (group 0):
//   0  A     read   the layer input, read through (strideT, strideB): layer 0 may be batch-first
//   1  W     read   Wᵀ as [K][N] (gate blocks r, z, n), then the folded bias [N] at offset K·N
//   2  G     write  [M][N], time-major
//   3  p     uniform sizes and strides, written by field name (src/uniforms.ts; checked against
//                    struct Params by test/suite/schedule.ts)
// Shape: 8×8 invocations; invocation (x, y) owns rows 4y…4y+3 and columns 4x…4x+3 of the 32×32
// output tile, so every operand is a vec4: a W tile row and a G store are one 16-byte access per
// invocation, contiguous across x, and the inner loop is 2 workgroup loads for 4 vec4 FMAs.
// (Measured on SwiftShader, where each storage or workgroup access has a high fixed cost, this is
// several times faster than scalar operands; on GPUs vec4 accesses are what coalesces best.)
// A is the caller's layout (K need not be a multiple of 4), so its tile is gathered as scalars
// and transposed into [k][m] vec4s. The tile grid can be wider than
// maxComputeWorkgroupsPerDimension in M; the host then folds it into y and z.

struct Params {
  M: u32,        // rows: T·B
  N: u32,        // columns: D·3·H4 (a multiple of 4)
  K: u32,        // depth
  batch: u32,    // B, to split m into (t, b)
  strideT: u32,  // A offset of step t
  strideB: u32,  // A offset of batch row b
  tilesY: u32,   // row tiles per z slice of the dispatch
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> G: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

const TILE: u32 = 32u;    // output tile edge and depth slice
const QUADS: u32 = 8u;    // vec4s per tile edge

var<workgroup> As: array<vec4<f32>, 256>;  // [k][m / 4]: rows 4i…4i+3 of depth k
var<workgroup> Ws: array<vec4<f32>, 256>;  // [k][n / 4]

@compute @workgroup_size(8, 8, 1)
fn project(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  let m0 = (wid.y + wid.z * p.tilesY) * TILE;
  let n0 = wid.x * TILE;
  let n4 = p.N / 4u;
  var acc: array<vec4<f32>, 4>;   // acc[i]: row 4·lid.y + i, columns 4·lid.x … +3

  for (var k0 = 0u; k0 < p.K; k0 += TILE) {
    // A: 32 rows × 32 depths as scalars, consecutive invocations on consecutive k (contiguous).
    for (var q = 0u; q < 16u; q++) {
      let idx = li + q * 64u;
      let row = idx / TILE;
      let kk = idx % TILE;
      let m = m0 + row;
      let k = k0 + kk;
      var a = 0.0;
      if (m < p.M && k < p.K) {
        a = A[(m / p.batch) * p.strideT + (m % p.batch) * p.strideB + k];
      }
      As[kk * QUADS + row / 4u][row % 4u] = a;
    }
    // W: 32 depths × 8 vec4s.
    for (var q = 0u; q < 4u; q++) {
      let idx = li + q * 64u;
      let kk = idx / QUADS;
      let c = idx % QUADS;
      let k = k0 + kk;
      var w = vec4<f32>(0.0);
      if (k < p.K && n0 + 4u * c < p.N) {
        w = W[k * n4 + n0 / 4u + c];
      }
      Ws[kk * QUADS + c] = w;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE; kk++) {
      let a = As[kk * QUADS + lid.y];
      let w = Ws[kk * QUADS + lid.x];
      acc[0] += a.x * w;
      acc[1] += a.y * w;
      acc[2] += a.z * w;
      acc[3] += a.w * w;
    }
    workgroupBarrier();
  }

  let c = n0 / 4u + lid.x;
  if (4u * c < p.N) {
    let bias = W[p.K * n4 + c];
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + 4u * lid.y + i;
      if (m < p.M) {
        G[m * n4 + c] = acc[i] + bias;
      }
    }
  }
}
