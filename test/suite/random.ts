/**
 * The repository's one seeded generator: the suite's data (test/suite/util.ts `rng`), the
 * benchmark's (bench/lib/configs.ts) and the demo's sampling (demo/char-model.ts) all draw from it,
 * so a seed gives the same numbers everywhere: the golden and matrix cases, the benchmark's weights
 * and the demo's sampled text depend on these exact sequences. Plain TypeScript, no test framework:
 * the demo and the benchmark import it too.
 */

/** mulberry32: a small seeded generator of uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
