// Embedding lookup: the rows of a table selected by token ids, the first layer of a language model.
//
//   out[b, e] = table[ids[b], e]        (0 when ids[b] ≥ V: an id outside the vocabulary has no row)
//
// The ids stay on the GPU, so a token chosen by the head's argmax (shaders/head.wgsl) feeds the next
// step without a round trip through the CPU.
//
// Bindings (group 0):
//   0  ids    read   [B] token ids, u32
//   1  table  read   [V][E] row-major f32, as PyTorch's nn.Embedding.weight
//   2  out    write  [B][E]; bound with exactly B·E·4 bytes, so arrayLength(&out) gives B·E
// Overrides: E (embedding size), V (vocabulary size), WG (workgroup size).
// Shape: one invocation per output element, i = b·E + e, so neighbouring invocations read and
// write neighbouring words of one row (contiguous: coalesced on a GPU, vectorised on a CPU driver).
// Bytes: 4·B·E read and 4·B·E written; a copy, so the result is bit-exact.
// B is not an override: a new batch needs no new pipeline.

override E: u32;
override V: u32;
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn embed(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= arrayLength(&out)) {
    return;
  }
  let b = i / E;
  let id = ids[b];
  // min() keeps the load in bounds; the select drops it when the id has no row.
  let row = min(id, V - 1u);
  out[i] = select(0.0, table[row * E + (i - b * E)], id < V);
}
