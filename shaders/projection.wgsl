// Input projection of one GRU layer, for every timestep and both directions at once:
//
//   G[m, n] = Σ_k A[row(m), k] · Wt[k, n] + bias[n]      m = t·B + b,  n = d·3H + gate·H + j
//
// One tiled matrix product of M = T·B rows, N = D·3H columns and depth K (I for layer 0, D·H after),
// instead of T small ones inside the recurrence: the step kernel then only adds U·h.
// FLOPs 2·M·N·K; bytes ≈ 4·(M·K·N/32 + K·N·M/32 + M·N) with 32×32 tiles, so it is compute-bound
// for all but tiny sizes.
//
// Bindings (group 0):
//   0  A     read   the layer input, read through (strideT, strideB): layer 0 may be batch-first
//   1  W     read   Wᵀ as [K][N] (gate blocks r, z, n), then the folded bias [N] at offset K·N
//   2  G     write  [M][N], time-major
//   3  p     uniform sizes and strides
// Shape: 8×8 invocations, each owns a 4×4 block of the 32×32 output tile, with columns strided by
// 8 so that neighbouring invocations read neighbouring words of the W tile and write neighbouring
// words of G. 64 invocations fit every adapter's limits (compatibility mode included).
// The tile grid can be wider than maxComputeWorkgroupsPerDimension in M; the host then folds it
// into y and z, and the row tile index is wid.y + wid.z · tilesY.

struct Params {
  M: u32,        // rows: T·B
  N: u32,        // columns: D·3H
  K: u32,        // depth
  batch: u32,    // B, to split m into (t, b)
  strideT: u32,  // A offset of step t
  strideB: u32,  // A offset of batch row b
  tilesY: u32,   // row tiles per z slice of the dispatch
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> G: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TILE: u32 = 32u;   // output tile edge and depth slice
const LANES: u32 = 8u;   // invocations per tile edge; each owns TILE / LANES = 4 rows and columns

var<workgroup> As: array<f32, 1024>;  // [k][m] of the current depth slice (TILE · TILE)
var<workgroup> Ws: array<f32, 1024>;  // [k][n]

@compute @workgroup_size(8, 8, 1)
fn project(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  let m0 = (wid.y + wid.z * p.tilesY) * TILE;
  let n0 = wid.x * TILE;
  var acc: array<vec4<f32>, 4>;   // acc[i][c]: row lid.y + 8i, column lid.x + 8c

  for (var k0 = 0u; k0 < p.K; k0 += TILE) {
    // Each of the 64 invocations loads 16 words of each tile; consecutive invocations take
    // consecutive k (for A) or consecutive n (for W), so the loads are contiguous.
    for (var q = 0u; q < 16u; q++) {
      let idx = li + q * 64u;
      let row = idx / TILE;
      let col = idx % TILE;
      let m = m0 + row;
      let ka = k0 + col;
      var a = 0.0;
      if (m < p.M && ka < p.K) {
        a = A[(m / p.batch) * p.strideT + (m % p.batch) * p.strideB + ka];
      }
      As[col * TILE + row] = a;
      let kw = k0 + row;
      let n = n0 + col;
      var w = 0.0;
      if (kw < p.K && n < p.N) {
        w = W[kw * p.N + n];
      }
      Ws[row * TILE + col] = w;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE; kk++) {
      let wv = vec4<f32>(Ws[kk * TILE + lid.x], Ws[kk * TILE + lid.x + 8u],
                         Ws[kk * TILE + lid.x + 16u], Ws[kk * TILE + lid.x + 24u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] += As[kk * TILE + lid.y + i * LANES] * wv;
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y + i * LANES;
    if (m < p.M) {
      for (var c = 0u; c < 4u; c++) {
        let n = n0 + lid.x + c * LANES;
        if (n < p.N) {
          G[m * p.N + n] = acc[i][c] + W[p.K * p.N + n];
        }
      }
    }
  }
}
