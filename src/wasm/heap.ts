/**
 * A first-fit allocator over one WebAssembly.Memory: the weights, each forward's workspace and
 * each streaming state of a `WasmGRU` live in the memory of that GRU's own instance. Blocks are
 * 64-byte aligned (a cache line; every v128 access of the kernels is then aligned). The first page
 * is left to the module's static data. A grow of a non-shared memory detaches its old ArrayBuffer,
 * so views are taken through `f32()`/`i32()` at each use, never kept across an allocation.
 */
import { GRUError } from '../errors.js';

const ALIGN = 64;
const PAGE = 65536;
/** wasm32 addresses: 4 GiB, 65536 pages. */
const MAX_PAGES = 65536;

export class Heap {
  /** Free blocks [offset, bytes], sorted by offset, coalesced. */
  private free: [number, number][] = [];
  private top = PAGE;
  /** Bytes handed out and not yet freed. */
  live = 0;
  private readonly sizes = new Map<number, number>();

  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly maxPages: number = MAX_PAGES,
  ) {}

  alloc(bytes: number, what: string): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const [at, room] = this.free[i];
      if (room < size) continue;
      if (room === size) this.free.splice(i, 1);
      else this.free[i] = [at + size, room - size];
      return this.taken(at, size);
    }
    const at = this.top;
    const end = at + size;
    const pages = Math.ceil(end / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) {
      if (pages > this.maxPages) {
        throw new GRUError(
          `wasm backend: ${what} needs ${size} bytes, which would take this GRU's memory to ${end} bytes, over the ${this.maxPages * PAGE} a WebAssembly memory can hold here`,
        );
      }
      try {
        this.memory.grow(pages - have);
      } catch (error) {
        throw new GRUError(
          `wasm backend: ${what} needs ${size} bytes and the engine refused to grow the memory to ${end} bytes (${String(error)})`,
        );
      }
    }
    this.top = end;
    return this.taken(at, size);
  }

  private taken(at: number, size: number): number {
    this.sizes.set(at, size);
    this.live += size;
    return at;
  }

  release(at: number): void {
    const size = this.sizes.get(at);
    if (size === undefined) return;
    this.sizes.delete(at);
    this.live -= size;
    let i = 0;
    while (i < this.free.length && this.free[i][0] < at) i++;
    this.free.splice(i, 0, [at, size]);
    // Merge with the next block, then with the previous one.
    if (i + 1 < this.free.length && at + size === this.free[i + 1][0]) {
      this.free[i][1] += this.free[i + 1][1];
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1][0] + this.free[i - 1][1] === at) {
      this.free[i - 1][1] += this.free[i][1];
      this.free.splice(i, 1);
      i--;
    }
    // A free block at the top goes back to the top.
    const last = this.free[this.free.length - 1];
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      this.free.pop();
    }
  }

  f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  i32(): Int32Array {
    return new Int32Array(this.memory.buffer);
  }
}
