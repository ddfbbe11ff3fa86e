// @ts-check
/**
 * Runner names, and what the driver reads from them. A name is `base` or `base:variant`:
 *   ours-gpu:NAME      one of our GPU variants (a schedule or a weight format): optional, and
 *                      predicted from its ratio to ours-gpu (bench/run.mjs)
 *   BASE:threads=N     a CPU runner on N threads (ours-wasm, ours-wasm-ra0, ort-wasm, tfjs-wasm);
 *                      without the suffix, the same runner on 1 thread
 * Shared by the harness and the page (which make the names) and bench/run.mjs (which selects and
 * schedules by them); checked by test/bench.test.ts.
 */

/**
 * The name of `base` on `threads` threads: `base` for 1, `base:threads=N` otherwise.
 * @param {string} base
 * @param {number} threads
 */
export function withThreads(base, threads) {
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`withThreads(${JSON.stringify(base)}): expected a positive integer thread count, got ${threads}`);
  return threads === 1 ? base : `${base}:threads=${threads}`;
}

/**
 * @param {string} id
 * @returns {{ base: string, variant: string | null, threads: number | null }} threads: from a
 *   `:threads=N` suffix, else null
 */
export function parseRunnerId(id) {
  const at = id.indexOf(':');
  if (at < 0) return { base: id, variant: null, threads: null };
  const variant = id.slice(at + 1);
  const m = /^threads=([1-9]\d*)$/.exec(variant);
  return { base: id.slice(0, at), variant, threads: m ? Number(m[1]) : null };
}

/**
 * Whether `--runners` (a list, or null for all) selects `id`: a name selects itself and its
 * variants (`ours` → `ours-gpu`, `ours-wasm:threads=2`, …; `ort-wasm` → `ort-wasm:threads=2`).
 * @param {string[] | null} filter
 * @param {string} id
 */
export function selected(filter, id) {
  if (!filter) return true;
  return filter.some((f) => id === f || id.startsWith(`${f}-`) || id.startsWith(`${f}:`));
}

/**
 * One of our GPU variants (`ours-gpu:NAME`), as opposed to our main runners and our CPU runners.
 * @param {{ id: string, family: string }} r
 */
export function isOurVariant(r) {
  const { variant, threads } = parseRunnerId(r.id);
  return r.family === 'ours' && variant !== null && threads === null;
}

/**
 * Whether the driver may skip this runner's cells (predicted too slow, or over the run's budget):
 * the peers', the reference's and our GPU variants'; never ours (`ours`, `ours-gpu`, `ours-ra0`),
 * our wasm runners or `ours-auto`.
 * @param {{ id: string, family: string }} r
 */
export function isOptional(r) {
  return r.family !== 'ours' || isOurVariant(r);
}
