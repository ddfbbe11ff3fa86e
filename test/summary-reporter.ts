import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends a run with one plain line, `N passed, N failed, N skipped`, after vitest's own summary:
 * CI logs are read for that line, and vitest's colourised table is not in that form. A failing
 * beforeAll (no WebGPU adapter) leaves its cases unrun: they count as failed here, as they are.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      const moduleFailed = module.state() === 'failed';
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        // Unrun because the module failed, unless a -t filter or .skip left it out.
        else if (state === 'failed' || (moduleFailed && test.options.mode === 'run')) failed++;
        else skipped++;
      }
      if (moduleFailed && ![...module.children.allTests()].length) failed++;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
