// @ts-check
/**
 * The Vite plugin that compiles the WebAssembly kernels (assembly/gru.ts, AssemblyScript) when the
 * library is served or built: `import { KERNELS } from 'virtual:gru-kernels'` gives the base64 of
 * each build. Nothing generated is committed; `npm ci` brings the compiler (the `assemblyscript`
 * package, no system toolchain). Registered in vite.config.ts (build, browser tests, benchmark),
 * vitest.config.ts (Node tests) and demo/vite.config.ts.
 *
 * Four builds of one source: SIMD128 or relaxed SIMD (`ASC_FEATURE_RELAXED_SIMD` switches the
 * multiply-add inside the source), each with a private memory (single thread; works on any page)
 * or a shared one (worker threads; needs a cross-origin-isolated page or Node). The loader
 * (src/wasm/kernels.ts) picks one with `WebAssembly.validate`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'assembly', 'gru.ts');
const ID = 'virtual:gru-kernels';
const RESOLVED = `\0${ID}`;

/** Pages of 64 KiB a shared memory may grow to: 1 GiB, reserved up front by engines for shared memories. */
export const SHARED_MAX_PAGES = 16384;

/** @type {Record<string, string[]>} */
const BUILDS = {
  simd: ['--enable', 'simd'],
  relaxed: ['--enable', 'simd', '--enable', 'relaxed-simd'],
  simdShared: ['--enable', 'simd', '--enable', 'threads', '--sharedMemory', '--maximumMemory', String(SHARED_MAX_PAGES)],
  relaxedShared: [
    '--enable',
    'simd',
    '--enable',
    'relaxed-simd',
    '--enable',
    'threads',
    '--sharedMemory',
    '--maximumMemory',
    String(SHARED_MAX_PAGES),
  ],
};

/** Compiles one build; throws with the compiler's diagnostics on failure. */
async function compile(/** @type {string[]} */ flags) {
  const asc = (await import('assemblyscript/asc')).default;
  /** @type {Uint8Array | undefined} */
  let binary;
  let errors = '';
  const { error } = await asc.main(
    [SOURCE, '--outFile', 'gru.wasm', '--runtime', 'stub', '-O3', '--noAssert', '--importMemory', '--initialMemory', '1', ...flags],
    {
      readFile: (name, baseDir) => readFile(join(baseDir, name), 'utf8').catch(() => null),
      writeFile: (name, contents) => {
        if (name.endsWith('.wasm')) binary = /** @type {Uint8Array} */ (contents);
      },
      stdout: { write: () => true },
      stderr: {
        write: (text) => {
          errors += String(text);
          return true;
        },
      },
    },
  );
  if (error || !binary) throw new Error(`assemblyscript failed on assembly/gru.ts (${flags.join(' ')}):\n${errors || error}`);
  return binary;
}

/** Every build as base64, keyed as in BUILDS. */
export async function compileKernels() {
  const entries = await Promise.all(
    Object.entries(BUILDS).map(async ([name, flags]) => [name, Buffer.from(await compile(flags)).toString('base64')]),
  );
  return Object.fromEntries(entries);
}

/** @returns {import('vite').Plugin} */
export function wasmKernels() {
  /** @type {Promise<Record<string, string>> | undefined} */
  let compiled;
  return {
    name: 'webgpu-gru:wasm-kernels',
    resolveId(id) {
      return id === ID ? RESOLVED : null;
    },
    async load(id) {
      if (id !== RESOLVED) return null;
      this.addWatchFile(SOURCE);
      compiled ??= compileKernels();
      const kernels = await compiled;
      return `export const KERNELS = ${JSON.stringify(kernels)};\nexport const SHARED_MAX_PAGES = ${SHARED_MAX_PAGES};\n`;
    },
  };
}
