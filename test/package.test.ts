/**
 * The package as npm users get it: `npm run build` output, imported by name through the exports
 * map from a separate Node process (which must also exit by itself), with the WGSL inlined and the
 * WebAssembly kernels embedded.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('builds, inlines the shaders and the wasm kernels, and runs from dist/ through the exports map', () => {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'pipe' });
  const bundle = readFileSync('dist/index.js', 'utf8');
  expect(bundle).toContain('fn step_fused');
  expect(bundle).toContain('fn project');
  expect(bundle).not.toMatch(/\.wgsl\?raw|fetch\(|virtual:gru-kernels/);
  const out = execFileSync('node', ['test/package/consumer.mjs'], { encoding: 'utf8', timeout: 60_000 });
  const result = JSON.parse(out.trim().split('\n').pop()!);
  expect(result.length).toBe(4 * 2 * 10);
  expect(result.rejected).toBe(true);
  expect(result.maxDiff).toBeLessThan(1e-5);
  // No WebGPU in a plain Node process (no navigator.gpu): createGRU falls back to wasm.
  expect(result.auto).toBe('wasm');
}, 120_000);
