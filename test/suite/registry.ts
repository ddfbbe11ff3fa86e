/**
 * The core suite is a plain list of named cases, each an async function of a GPUDevice that throws
 * on failure. The same list runs under vitest in Node (test/node.test.ts, Dawn) and inside a
 * headless Chromium page (test/browser.test.ts), so nothing here may import vitest or Node modules.
 */
export interface Case {
  name: string;
  /** Milliseconds this case may take on a CPU adapter (SwiftShader, llvmpipe). */
  timeoutMs?: number;
  run(device: GPUDevice): Promise<void>;
}
