/**
 * What the host and the shaders must agree on without a compiler to check it: the uniform structs
 * the host writes by field name (src/uniforms.ts) against the structs parsed from the WGSL, and
 * the override constants the host passes against those the shader declares. A mismatch would not
 * fail to compile, it would shift every value after it; these cases fail instead. Plus the one
 * f16 rounding (src/half.ts) on doubles, which the ONNX importer's Cast folding hands it. And
 * what compiles when (src/schedule.ts `CompiledKernels`): `GRU.create` waits for the fallback
 * alone, the first forward runs it and matches the reference, 'auto' picks the others once
 * `GRU.ready` resolves, and a device destroyed mid-compile leaves nothing unhandled.
 */
import projectionSource from '../../shaders/projection.wgsl?raw';
import recurrenceSource from '../../shaders/recurrence.wgsl?raw';
import { halfToFloat, roundToHalf, toHalf } from '../../src/half.js';
import { GRU, gruReference, type GRUOptions } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';
import { recurrenceConstants } from '../../src/pipelines.js';
import { PROJECTION_PARAMS, RECURRENCE_PARAMS, STEP } from '../../src/uniforms.js';
import type { Case } from './registry.js';
import { assertClose, F32_TOLERANCE, randomWeights, record, rng, uniform, withoutUnhandled } from './util.js';

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

/** A stack of one direction: 'auto' may pick stepwise, persistent (sequence_stack) and wavefront. */
const STACK: GRUOptions = { inputSize: 5, hiddenSize: 9, numLayers: 2 };
const WEIGHT_SEED = 61;

/** A forward of `batch` rows against the reference, on the schedule `expected` (checked just before: the forward picks it in the same tick). */
async function forwardOn(gru: GRU, o: GRUOptions, expected: string, batch: number, seed: number): Promise<void> {
  const steps = 6;
  const random = rng(seed);
  const input = uniform(random, steps * batch * o.inputSize, 1);
  const args = { steps, batch, seqLengths: Int32Array.from({ length: batch }, (_, b) => steps - (b % 3)) };
  const schedule = gru.scheduleFor(batch);
  if (schedule !== expected) throw new Error(`B = ${batch}: expected the forward to run ${expected}, scheduleFor says ${schedule}`);
  const got = await gru.forward(input, args);
  const want = gruReference(o, randomWeights(o, WEIGHT_SEED), input, args);
  const a = assertClose(`${schedule} B = ${batch} output`, got.output, want.output, F32_TOLERANCE);
  const b = assertClose(`${schedule} B = ${batch} hN`, got.hN, want.hN, F32_TOLERANCE);
  record({ maxAbs: Math.max(a.maxAbs, b.maxAbs), maxRel: Math.max(a.maxRel, b.maxRel) });
}

/** Records each pipeline `device` compiles as `entryPoint` (`entryPoint WAVE` for the wavefront's), in order. */
function recordCompiles(device: GPUDevice): string[] {
  const compiled: string[] = [];
  const create = device.createComputePipelineAsync.bind(device);
  device.createComputePipelineAsync = (descriptor: GPUComputePipelineDescriptor) => {
    const c = descriptor.compute;
    compiled.push(`${c.entryPoint}${c.constants?.WAVE ? ' WAVE' : ''}`);
    return create(descriptor);
  };
  return compiled;
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
  {
    name: "compiles: the first forward runs stepwise before the background compiles and matches the reference; after GRU.ready, and in a second GRU of that shape, 'auto' picks persistent and wavefront",
    timeoutMs: 60_000,
    async run(device) {
      const gru = await GRU.create(device, STACK, randomWeights(STACK, WEIGHT_SEED));
      try {
        // Nothing has asked for the other schedules yet: the first forwards run the fallback.
        await forwardOn(gru, STACK, 'stepwise', 1, 62);
        await forwardOn(gru, STACK, 'stepwise', 9, 63);
        await gru.ready;
        await forwardOn(gru, STACK, 'persistent', 1, 64);
        await forwardOn(gru, STACK, 'wavefront', 9, 65);
      } finally {
        gru.destroy();
      }
      // A second GRU of this shape takes every schedule the device has compiled from the start.
      const again = await GRU.create(device, STACK, randomWeights(STACK, WEIGHT_SEED));
      try {
        await forwardOn(again, STACK, 'persistent', 1, 66);
        await forwardOn(again, STACK, 'wavefront', 9, 67);
      } finally {
        again.destroy();
      }
    },
  },
  {
    name: "compiles: GRU.create waits for the projection and stepwise alone ('auto') or the forced schedule alone; the rest compile after the first forward",
    timeoutMs: 120_000,
    async run(_device, env) {
      const device = await env.newDevice();
      try {
        const compiled = recordCompiles(device);
        const gru = await GRU.create(device, STACK, randomWeights(STACK, WEIGHT_SEED));
        const atCreate = compiled.join(', ');
        await gru.forward(new Float32Array(2 * STACK.inputSize), { steps: 2, batch: 1 });
        await gru.ready;
        gru.destroy();
        const afterReady = compiled.slice(2).sort().join(', ');
        if (atCreate !== 'project, step_fused' || afterReady !== 'sequence_stack, step_fused WAVE') {
          throw new Error(
            `'auto' compiled ${atCreate} in GRU.create and ${afterReady} after; expected project, step_fused, then sequence_stack, step_fused WAVE`,
          );
        }
        // A forced schedule: its kernels alone (another hidden size, so that nothing comes from the cache).
        compiled.length = 0;
        const forced: GRUOptions = { ...STACK, hiddenSize: 10, schedule: 'persistent' };
        const one = await GRU.create(device, forced, randomWeights(forced, 66));
        await one.forward(new Float32Array(2 * 3 * STACK.inputSize), { steps: 2, batch: 3 });
        await one.ready;
        one.destroy();
        if (compiled.join(', ') !== 'sequence_stack')
          throw new Error(`the forced 'persistent' compiled ${compiled.join(', ')}; expected sequence_stack alone`);
      } finally {
        device.destroy();
      }
    },
  },
  {
    name: 'compiles: a background compile that fails is handled, left out and never retried; a device destroyed mid-compile leaves nothing unhandled and GRU.ready resolves',
    timeoutMs: 120_000,
    async run(_device, env) {
      await withoutUnhandled(env, async () => {
        // Every compile after create rejects, as a device lost mid-compile may make it (Dawn and
        // Chromium resolve instead, with an invalid pipeline).
        const device = await env.newDevice();
        try {
          const gru = await GRU.create(device, STACK, randomWeights(STACK, WEIGHT_SEED));
          let attempts = 0;
          device.createComputePipelineAsync = () => {
            attempts++;
            return Promise.reject(new DOMException('lost mid-compile', 'OperationError'));
          };
          await forwardOn(gru, STACK, 'stepwise', 1, 67);
          await gru.ready;
          const tried = attempts;
          if (tried !== 2) throw new Error(`expected one attempt for each of sequence_stack and step_fused WAVE, got ${tried}`);
          await forwardOn(gru, STACK, 'stepwise', 1, 68);
          await forwardOn(gru, STACK, 'stepwise', 9, 69);
          await gru.ready;
          if (attempts !== tried) throw new Error(`a failed background compile was tried again (${attempts - tried} more attempts)`);
          gru.destroy();
        } finally {
          device.destroy();
        }
        for (const when of ['after a forward, before its compiles start', 'with its compiles in flight'] as const) {
          const lost = await env.newDevice();
          const gru = await GRU.create(lost, STACK, randomWeights(STACK, WEIGHT_SEED));
          if (when === 'with its compiles in flight') {
            // Reading ready starts them at once (a forward starts them once the device is idle).
            void gru.ready;
            await null;
          } else {
            await gru.forward(new Float32Array(2 * STACK.inputSize), { steps: 2, batch: 1 });
          }
          lost.destroy();
          await gru.ready;
          gru.destroy();
        }
      });
    },
  },
];
