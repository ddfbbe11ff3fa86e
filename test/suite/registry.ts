/**
 * The core suite is a plain list of named cases, each an async function of a GPUDevice that throws
 * on failure. The same list runs under vitest in Node (test/node.test.ts, Dawn) and inside a
 * headless Chromium page (test/browser.test.ts), so nothing here may import vitest or Node modules.
 */
export interface Case {
  name: string;
  /** Milliseconds this case may take on a CPU adapter (SwiftShader, llvmpipe). */
  timeoutMs?: number;
  run(device: GPUDevice, env: SuiteEnv): Promise<void>;
}

/** What a runner gives a case besides its device. */
export interface SuiteEnv {
  /** A new device on the runner's adapter, for a case that destroys or loses it; the case destroys it. */
  newDevice(): Promise<GPUDevice>;
  /**
   * Calls `handler` with the reason of every promise rejection nobody handled (Node's
   * 'unhandledRejection', the page's 'unhandledrejection') until the returned function is called.
   */
  onUnhandledRejection(handler: (reason: unknown) => void): () => void;
}
