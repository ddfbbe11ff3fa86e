/**
 * The API reference builds with no warning: `npm run docs` (TypeDoc, typedoc.json) fails on any
 * warning (`treatWarningsAsErrors`), among them an export without TSDoc, a type the reference
 * uses but does not include, and a broken `{@link}`. This runs the same configuration without
 * writing the site (`--emit none`) and with warnings left as warnings, so that a failure lists
 * every one of them rather than the first batch TypeDoc stops at.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

it('the API reference (npm run docs) builds without warnings', () => {
  const start = performance.now();
  const run = spawnSync(
    process.execPath,
    [resolve(ROOT, 'node_modules/typedoc/bin/typedoc'), '--emit', 'none', '--treatWarningsAsErrors', 'false'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      timeout: 110_000,
    },
  );
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  const problems = output
    .split('\n')
    .filter((line) => /\[(warning|error)\]/.test(line) && !/Found \d+ errors and \d+ warnings/.test(line))
    .map((line) => line.trim());
  const summary = /Found \d+ errors and \d+ warnings/.exec(output)?.[0] ?? 'no summary';
  console.log(`[docs] typedoc: ${summary}, ${((performance.now() - start) / 1000).toFixed(1)} s`);
  expect(problems).toEqual([]);
  expect(run.error, String(run.error)).toBeUndefined();
  expect(run.status, output).toBe(0);
}, 120_000);
