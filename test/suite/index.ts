/** The core suite: every case runs in Node (Dawn) and in headless Chromium. */
import { activationCases } from './activations.js';
import { concurrencyCases } from './concurrency.js';
import { dispatchCases } from './dispatches.js';
import { errorCases } from './errors.js';
import { formatCases } from './formats.js';
import { fuzzCases } from './fuzz.js';
import { fixtureInventoryCase, goldenCases } from './golden.js';
import { importCases } from './import.js';
import { largeCases } from './large.js';
import { layerCases } from './layers.js';
import { leakCases } from './leaks.js';
import { lossCases } from './loss.js';
import { matrixCases } from './matrix.js';
import type { Case } from './registry.js';
import { scheduleCases } from './schedule.js';
import { soakCases } from './soak.js';
import { splitCases } from './split.js';
import { streamingCases } from './streaming.js';
import { wasmCases } from './wasm.js';

export const cases: Case[] = [
  ...matrixCases,
  fixtureInventoryCase,
  ...goldenCases,
  ...activationCases,
  ...streamingCases,
  ...dispatchCases,
  ...scheduleCases,
  ...formatCases,
  ...errorCases,
  ...leakCases,
  ...concurrencyCases,
  ...soakCases,
  ...lossCases,
  ...largeCases,
  ...splitCases,
  ...layerCases,
  ...importCases,
  ...wasmCases,
  ...fuzzCases,
];
