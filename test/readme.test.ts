/**
 * Every TypeScript block of the READMEs type-checks against the library as it is now. The README's
 * examples are what a user copies first; nothing else would notice an example left behind by a
 * renamed option or a changed return type.
 *
 * Each ```ts (```typescript, ```mts) block of every README.md in the repository (node_modules,
 * dist and dot folders aside) becomes a module in a scratch folder, checked by this checkout's
 * TypeScript compiler, strict, where 'webgpu-gru' and 'webgpu-gru/node' are src/index.ts and
 * src/node.ts (moduleResolution "bundler", lib DOM, types @webgpu/types and node). Other blocks
 * (sh, plain text) are skipped. A failure names the block's line in the README and the diagnostic.
 *
 * Blocks are fragments: they use names that the text around them stands for (`input`, `weights`,
 * a `gru` from the block before). FREE_NAMES, below, gives each such name its type, in one place.
 * A block gets a prelude of `declare const` lines for only the names it uses without declaring:
 * a first compile finds them (TS2304/TS2552, "cannot find name"). A name used but not in the table
 * fails the block rather than being made up, the table holds no `any`, and an entry no block uses
 * fails too, so the table cannot drift into hiding mistakes. A canary module checks, with
 * `@ts-expect-error`, that both entry points resolve to real declarations and not to `any`.
 *
 * The scratch folder is removed at the end unless KEEP_SCRATCH=1 (its path is printed); there,
 * `npx tsc -p <folder>` repeats the check.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * The names README blocks use without declaring them, with the types the surrounding text gives
 * them. `API` is the namespace of 'webgpu-gru' in the prelude. Keep it exact: no `any`, no entry
 * that no block needs.
 */
const FREE_NAMES: Record<string, string> = {
  // "Use": one layer's PyTorch-layout weights and a [T, B, I] input.
  weightIh: 'Float32Array',
  weightHh: 'Float32Array',
  biasIh: 'Float32Array',
  biasHh: 'Float32Array',
  input: 'Float32Array',
  // createGRU and WasmGRU: the same options and weights as GRU.create.
  options: 'API.GRUOptions',
  weights: 'readonly API.GRUWeights[]',
  // Streaming: the WebGPU GRU of "Use", its input frames x_t [B, I], a state h [L, B, H].
  gru: 'API.GRU',
  frame: 'Float32Array',
  frames: 'readonly Float32Array[]',
  h: 'Float32Array',
  // The importers: a device as in "Use", the bytes of an .onnx file, a TF.js model.json (parsed,
  // so of no known type) and its weight shards.
  device: 'GPUDevice',
  onnxBytes: 'Uint8Array',
  modelJson: 'unknown',
  weightBuffers: 'ArrayBuffer[]',
};

const CHECKED = new Set(['ts', 'typescript', 'mts']);
/** "Cannot find name 'x'" (and "… Did you mean 'y'?"), "No value exists in scope for the shorthand property 'x'". */
const NOT_FOUND = new Set([2304, 2552, 18004]);
/** Configuration failures wherever they occur: they would turn declarations into `any`. */
const CONFIG_ERRORS = new Set([2307, 2688, 2792, 5083, 6053]);

interface Block {
  readme: string;
  /** 1-based line of the opening fence. */
  fence: number;
  lang: string;
  code: string;
  file: string;
}

function readmes(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...readmes(path));
    else if (entry.name === 'README.md') found.push(path);
  }
  return found.sort();
}

/** Fenced blocks (``` or ~~~, any length), with the line of their opening fence. */
function fencedBlocks(path: string): Omit<Block, 'file'>[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const blocks: Omit<Block, 'file'>[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[j])) body.push(lines[j++]);
    if (j === lines.length) throw new Error(`${relative(ROOT, path)}:${i + 1}: a code fence that is never closed`);
    blocks.push({ readme: relative(ROOT, path), fence: i + 1, lang: open[2].toLowerCase(), code: body.join('\n') });
    i = j;
  }
  return blocks;
}

const all = readmes(ROOT).flatMap((path) => fencedBlocks(path));
const blocks: Block[] = all
  .filter((b) => CHECKED.has(b.lang))
  .map((b) => ({ ...b, file: `${b.readme.replace(/[^A-Za-z0-9]+/g, '-')}-${b.fence}.ts` }));
const skipped = all.filter((b) => !CHECKED.has(b.lang));

/** `export {}` makes every block a module (top-level await, names of its own); then the prelude. */
function moduleText(block: Block, free: readonly string[]): { text: string; header: number } {
  const header = [
    'export {};',
    "import type * as API from 'webgpu-gru';",
    ...free.map((name) => `declare const ${name}: ${FREE_NAMES[name]};`),
  ];
  return { text: `${header.join('\n')}\n${block.code}\n`, header: header.length };
}

const CANARY = `import { GRU } from 'webgpu-gru';
import { requestDevice } from 'webgpu-gru/node';
// @ts-expect-error: GRU.create's first argument is a GPUDevice (an error only if 'webgpu-gru' resolved)
void GRU.create('a device', { inputSize: 1, hiddenSize: 1 }, []);
// @ts-expect-error: not an adapter choice (an error only if 'webgpu-gru/node' resolved)
void requestDevice({ adapter: 'gpu' });
`;

/**
 * FREE_NAMES entries that a block uses as values but that resolve to a global of the libraries
 * instead of being missing: `frames` is the DOM's `window.frames`. No diagnostic names them.
 */
function libShadowed(program: ts.Program, source: ts.SourceFile): string[] {
  const checker = program.getTypeChecker();
  const found = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text in FREE_NAMES) {
      const parent = node.parent;
      const isMemberName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isQualifiedName(parent) && parent.right === node) ||
        ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isMethodDeclaration(parent)) && parent.name === node);
      const symbol = ts.isShorthandPropertyAssignment(parent)
        ? checker.getShorthandAssignmentValueSymbol(parent)
        : checker.getSymbolAtLocation(node);
      const declarations = symbol?.declarations ?? [];
      const inLib = declarations.length > 0 && declarations.every((d) => /[\\/]node_modules[\\/]/.test(d.getSourceFile().fileName));
      if (!isMemberName && inLib) found.add(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...found];
}

let scratch = '';
let options: ts.CompilerOptions;
/** Per block file: the names it uses undeclared, and the final diagnostics. */
const freeNames = new Map<string, string[]>();
const results = new Map<string, string[]>();
let elsewhere: string[] = [];

function lineOf(d: ts.Diagnostic): { line: number; character: number } {
  return d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
}

function text(d: ts.Diagnostic): string {
  return `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
}

beforeAll(() => {
  const start = performance.now();
  scratch = mkdtempSync(join(tmpdir(), 'webgpu-gru-readme-'));
  const files = [...blocks.map((b) => b.file), 'canary.ts'];
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'ESNext',
      moduleResolution: 'Bundler',
      lib: ['ES2022', 'DOM'],
      // Type packages by path: this folder has no node_modules to find them in.
      types: [],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      isolatedModules: true,
      paths: {
        'webgpu-gru': [join(ROOT, 'src/index.ts')],
        'webgpu-gru/node': [join(ROOT, 'src/node.ts')],
      },
    },
    files: [
      ...files,
      join(ROOT, 'node_modules/@webgpu/types/dist/index.d.ts'),
      join(ROOT, 'node_modules/@types/node/index.d.ts'),
      // src/ imports its shaders as `?raw` strings (Vite) and its kernels from a virtual module.
      join(ROOT, 'node_modules/vite/client.d.ts'),
      join(ROOT, 'src/wasm/virtual.d.ts'),
    ],
  };
  writeFileSync(join(scratch, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(scratch, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(text(d));
      },
    },
  );
  if (!parsed) throw new Error('tsconfig.json: not parsed');
  if (parsed.errors.length) throw new Error(parsed.errors.map(text).join('\n'));
  options = parsed.options;

  // Parsed source files outside the scratch folder (lib, @types, src/) are kept for the second pass.
  const base = ts.createCompilerHost(options);
  const cache = new Map<string, ts.SourceFile | undefined>();
  const host: ts.CompilerHost = {
    ...base,
    getSourceFile(fileName, languageVersion, onError, shouldCreate) {
      if (fileName.startsWith(scratch)) return base.getSourceFile(fileName, languageVersion, onError, shouldCreate);
      if (!cache.has(fileName)) cache.set(fileName, base.getSourceFile(fileName, languageVersion, onError, shouldCreate));
      return cache.get(fileName);
    },
  };

  // Pass 1, no prelude: which names does each block use without declaring them?
  for (const b of blocks) writeFileSync(join(scratch, b.file), moduleText(b, []).text);
  writeFileSync(join(scratch, 'canary.ts'), CANARY);
  const first = ts.createProgram(parsed.fileNames, options, host);
  for (const b of blocks) {
    const source = first.getSourceFile(join(scratch, b.file));
    const names = new Set<string>();
    for (const d of source ? ts.getPreEmitDiagnostics(first, source) : []) {
      if (!NOT_FOUND.has(d.code) || !d.file || d.start === undefined || d.length === undefined) continue;
      names.add(d.file.text.slice(d.start, d.start + d.length));
    }
    if (source) for (const name of libShadowed(first, source)) names.add(name);
    freeNames.set(b.file, [...names].filter((n) => n in FREE_NAMES).sort());
  }

  // Pass 2, each block with the prelude of its free names that the table has.
  const headers = new Map<string, number>();
  for (const b of blocks) {
    const { text: t, header } = moduleText(b, freeNames.get(b.file) ?? []);
    writeFileSync(join(scratch, b.file), t);
    headers.set(b.file, header);
  }
  const second = ts.createProgram(parsed.fileNames, options, host, first);
  for (const b of blocks) {
    const source = second.getSourceFile(join(scratch, b.file));
    const header = headers.get(b.file) ?? 0;
    const messages = (source ? ts.getPreEmitDiagnostics(second, source) : []).map((d) => {
      const { line, character } = lineOf(d);
      const where =
        line < header
          ? `${b.readme}:${b.fence} (the prelude, line ${line + 1})`
          : `${b.readme}:${b.fence + 1 + line - header}:${character + 1}`;
      const code = line < header ? '' : `\n    ${b.code.split('\n')[line - header].trim()}`;
      const hint = NOT_FOUND.has(d.code) ? ' (declare it in the block, or give it a type in FREE_NAMES, test/readme.test.ts)' : '';
      return `${where} ${text(d)}${hint}${code}`;
    });
    results.set(b.file, messages);
  }
  elsewhere = ts
    .getPreEmitDiagnostics(second)
    .filter((d) => {
      const name = d.file?.fileName ?? '';
      if (name === join(scratch, 'canary.ts') || !d.file) return true;
      if (name.startsWith(scratch)) return false;
      return CONFIG_ERRORS.has(d.code);
    })
    .map((d) => `${d.file ? relative(ROOT, d.file.fileName) : '(options)'}:${lineOf(d).line + 1} ${text(d)}`);
  const preludes = blocks.map((b) => `${b.readme}:${b.fence} [${(freeNames.get(b.file) ?? []).join(', ')}]`).join('; ');
  console.log(
    `[readme] ${blocks.length} TypeScript blocks type-checked (${skipped.length} other blocks skipped) ` +
      `in ${((performance.now() - start) / 1000).toFixed(1)} s; declared for them: ${preludes}; scratch folder ${scratch}`,
  );
}, 120_000);

afterAll(() => {
  if (scratch && process.env.KEEP_SCRATCH !== '1') rmSync(scratch, { recursive: true, force: true });
});

describe('README code blocks', () => {
  it('the READMEs have TypeScript blocks to check', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  for (const b of blocks) {
    it(`${b.readme}:${b.fence} type-checks`, () => {
      expect(results.get(b.file) ?? ['not compiled']).toEqual([]);
    });
  }

  it('the entry points resolve to the source, and the compile is configured right', () => {
    expect(elsewhere).toEqual([]);
  });

  it('FREE_NAMES holds no `any`, and every name in it is used by a block', () => {
    const used = new Set([...freeNames.values()].flat());
    const problems = Object.entries(FREE_NAMES).flatMap(([name, type]) => [
      ...(/\bany\b/.test(type) ? [`${name}: ${type} is any`] : []),
      ...(used.has(name) ? [] : [`${name}: no README block uses it undeclared`]),
    ]);
    expect(problems).toEqual([]);
  });
});
