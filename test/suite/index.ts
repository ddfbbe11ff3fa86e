/** The core suite: every case runs in Node (Dawn) and in headless Chromium. */
import { matrixCases } from './matrix.js';
import type { Case } from './registry.js';

export const cases: Case[] = [...matrixCases];
