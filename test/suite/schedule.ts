/**
 * What the host and the shaders must agree on without a compiler to check it: the uniform structs
 * the host writes by field name (src/uniforms.ts) against the structs parsed from the WGSL, and
 * the override constants the host passes against those the shader declares. A mismatch would not
 * fail to compile, it would shift every value after it; these cases fail instead. Plus the one
 * f16 rounding (src/half.ts) on doubles, which the ONNX importer's Cast folding hands it.
 */
import projectionSource from '../../shaders/projection.wgsl?raw';
import recurrenceSource from '../../shaders/recurrence.wgsl?raw';
import { halfToFloat, roundToHalf, toHalf } from '../../src/half.js';
import { resolveOptions } from '../../src/options.js';
import { recurrenceConstants } from '../../src/pipelines.js';
import { PROJECTION_PARAMS, RECURRENCE_PARAMS, STEP } from '../../src/uniforms.js';
import type { Case } from './registry.js';

/** `name: type` of every field of `struct name` in a WGSL source, in order. */
function wgslStruct(source: string, file: string, name: string): string[] {
  const body = new RegExp(`\\nstruct ${name} \\{([\\s\\S]*?)\\n\\}`).exec(source)?.[1];
  if (!body) throw new Error(`struct ${name} not found in ${file}`);
  return [...body.matchAll(/^\s*(\w+)\s*:\s*([\w<>]+)\s*,/gm)].map((m) => `${m[1]}: ${m[2]}`);
}

function checkStruct(source: string, file: string, name: string, fields: readonly string[]): void {
  const wgsl = wgslStruct(source, file, name);
  const host = fields.map((f) => `${f}: u32`);
  if (wgsl.join(', ') !== host.join(', ')) {
    throw new Error(`${file} struct ${name} and src/uniforms.ts differ:\n  WGSL: ${wgsl.join(', ')}\n  host: ${host.join(', ')}`);
  }
  if ((fields.length * 4) % 16 !== 0) throw new Error(`${file} struct ${name}: ${fields.length * 4} bytes, not a multiple of 16`);
}

export const scheduleCases: Case[] = [
  {
    name: 'uniforms: struct Params and struct Step of recurrence.wgsl have the fields src/uniforms.ts writes',
    async run() {
      checkStruct(recurrenceSource, 'shaders/recurrence.wgsl', 'Params', RECURRENCE_PARAMS);
      checkStruct(recurrenceSource, 'shaders/recurrence.wgsl', 'Step', STEP);
    },
  },
  {
    name: 'uniforms: struct Params of projection.wgsl has the fields src/uniforms.ts writes',
    async run() {
      checkStruct(projectionSource, 'shaders/projection.wgsl', 'Params', PROJECTION_PARAMS);
    },
  },
  {
    name: 'overrides: every constant the host passes is declared by recurrence.wgsl',
    async run() {
      const declared = new Set([...recurrenceSource.matchAll(/^override (\w+)\s*:/gm)].map((m) => m[1]));
      const passed = [...Object.keys(recurrenceConstants(resolveOptions({ inputSize: 3, hiddenSize: 5 }), 8, 2048)), 'WAVE', 'XK', 'XI'];
      const missing = passed.filter((name) => !declared.has(name));
      if (missing.length) throw new Error(`shaders/recurrence.wgsl declares no override ${missing.join(', ')}`);
    },
  },
  {
    name: 'f16: a double is rounded to binary16 once (ties by its own side, not its float32 rounding)',
    async run() {
      for (let h = 0; h < 0x7bff; h += 7) {
        const [lo, hi] = [halfToFloat(h), halfToFloat(h + 1)];
        const tie = (lo + hi) / 2;
        const even = h % 2 === 0 ? lo : hi;
        const cases: [number, number][] = [
          [tie, even],
          [tie + (hi - lo) * 2 ** -30, hi],
          [tie - (hi - lo) * 2 ** -30, lo],
          [-tie, -even],
        ];
        for (const [x, want] of cases) {
          if (!Object.is(roundToHalf(x), want)) throw new Error(`roundToHalf(${x}) = ${roundToHalf(x)}, expected ${want}`);
        }
      }
      if (toHalf(65519.99) !== 0x7bff || toHalf(65520) !== 0x7c00 || toHalf(-0) !== 0x8000)
        throw new Error('toHalf at the ends of the range');
    },
  },
];
