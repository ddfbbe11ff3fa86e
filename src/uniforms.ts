/**
 * The uniform structs of the GRU kernels, each described once as its WGSL field names in order:
 * the host writes them by name from these lists, and test/suite/schedule.ts holds every list
 * against the struct it parses from the shader, so a field added, removed or moved on one side
 * fails a test instead of shifting every value after it. All their fields are u32; fields named
 * `_…` are padding up to a multiple of 16 bytes, left at 0.
 */

/** shaders/recurrence.wgsl `struct Params`: a layer's (or a whole stack's) sizes, group 0 binding 4. */
export const RECURRENCE_PARAMS = [
  'batch',
  'steps',
  'stateRows',
  'layerBase',
  'dirBase',
  'outStrideT',
  'outStrideB',
  'inStrideT',
  'inStrideB',
  'wOffset',
  'uBase1',
  'uStride',
  'hiddenBase',
  'layers',
  '_pad0',
  '_pad1',
] as const;

/** shaders/recurrence.wgsl `struct Step`: one dispatch's step, at a dynamic offset of group 1. */
export const STEP = ['s', 'parity', 'first', '_pad0'] as const;

/** shaders/projection.wgsl `struct Params`: one layer's matrix product, binding 3. */
export const PROJECTION_PARAMS = ['M', 'N', 'K', 'batch', 'strideT', 'strideB', 'tilesY', '_pad'] as const;

/** The values of a struct's fields, by name (its padding excluded). */
export type StructValues<Fields extends readonly string[]> = Record<Exclude<Fields[number], `_${string}`>, number>;

export function structBytes(fields: readonly string[]): number {
  return fields.length * 4;
}

/** Writes one struct into `target` at byte `offset`, each field at its place in `fields`. */
export function writeStruct<Fields extends readonly string[]>(
  target: Uint32Array,
  offset: number,
  fields: Fields,
  values: StructValues<Fields>,
): void {
  const named = values as Record<string, number>;
  fields.forEach((field, i) => {
    if (!field.startsWith('_')) target[offset / 4 + i] = named[field];
  });
}
