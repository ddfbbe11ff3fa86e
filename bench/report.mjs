// @ts-check
/**
 * The benchmark's reports: the terminal tables (config × runner: median ms, each runner's ratio to
 * its baseline, GFLOP/s, and for the CPU runners the fraction of the host's peak f32 SIMD
 * throughput, `meta.peak`), the JSON record, and an HTML page with an inline SVG bar chart of the
 * peers' ratios (log scale). Plain functions of the run's record; no I/O except `writeReports`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @typedef {{ config: string, runner: string, status: string, message?: string, setupMs?: number,
 *   firstMs?: number, medianMs?: number, minMs?: number, reps?: number, dispatches?: number,
 *   submits?: number, gflops?: number, maxDiff?: number, tolerance?: number, checkedAgainst?: string,
 *   threads?: number }} CellResult
 * @typedef {{ id: string, family: string, baseline: string | readonly string[] | null, what: string }} RunnerDesc
 * @typedef {import('./lib/peak.mjs').Peak} Peak
 * @typedef {{ where: string, at: Peak[] } | { where: string, error: string }} PeakRecord
 * @typedef {{ id: string, batch: number, steps: number, inputSize: number, hiddenSize: number,
 *   numLayers: number, direction: string, streaming: boolean, what: string, gflop?: number }} ConfigDesc
 * @typedef {{ meta: Record<string, unknown>, configs: ConfigDesc[], runners: RunnerDesc[], results: CellResult[] }} Record_
 */

/** Short tags for cells that were not timed. */
const STATUS_TAG = /** @type {Record<string, string>} */ ({
  'check-failed': 'FAILED',
  error: 'error',
  unsupported: 'unsupp.',
  skipped: 'skipped',
  timeout: 'timeout',
});

/** @param {number} ms */
export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return '?';
  if (ms >= 1000) return ms.toFixed(0);
  if (ms >= 100) return ms.toFixed(1);
  if (ms >= 10) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** @param {number} g */
export function fmtGflops(g) {
  return g >= 10 ? g.toFixed(1) : g >= 0.01 ? g.toFixed(3) : g.toPrecision(2);
}

/** @param {number} r */
export function fmtRatio(r) {
  if (!Number.isFinite(r)) return '?';
  if (r >= 100) return `${r.toFixed(0)}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  return r >= 0.1 ? `${r.toFixed(2)}×` : `${r.toPrecision(2)}×`;
}

/**
 * @param {CellResult[]} results
 * @returns {Map<string, CellResult>}
 */
function index(results) {
  return new Map(results.map((r) => [`${r.config}/${r.runner}`, r]));
}

/**
 * The baseline's name as the tables print it: `ours`, or `best(ours, ours-wasm)` for a list.
 * @param {RunnerDesc} runner
 */
export function baselineName(runner) {
  const b = runner.baseline;
  return b === null ? '' : typeof b === 'string' ? b : `best(${b.join(', ')})`;
}

/**
 * The baseline's cell in `config`: the fastest of the listed runners that are ok there, or undefined.
 * @param {Map<string, CellResult> | CellResult[]} cells
 * @param {RunnerDesc} runner
 * @param {string} config
 * @returns {CellResult | undefined}
 */
export function baselineCell(cells, runner, config) {
  if (runner.baseline === null) return undefined;
  const byKey = cells instanceof Map ? cells : index(cells);
  const ids = typeof runner.baseline === 'string' ? [runner.baseline] : runner.baseline;
  /** @type {CellResult | undefined} */
  let best;
  for (const id of ids) {
    const b = byKey.get(`${config}/${id}`);
    if (b?.status !== 'ok' || !b.medianMs) continue;
    if (!best?.medianMs || b.medianMs < best.medianMs) best = b;
  }
  return best;
}

/**
 * The median of `runner` over the median of its baseline in the same config, or undefined.
 * @param {Map<string, CellResult>} byKey
 * @param {RunnerDesc} runner
 * @param {string} config
 */
export function ratioOf(byKey, runner, config) {
  const a = byKey.get(`${config}/${runner.id}`);
  const b = baselineCell(byKey, runner, config);
  if (a?.status !== 'ok' || !a.medianMs || !b?.medianMs) return undefined;
  return a.medianMs / b.medianMs;
}

/**
 * The peak f32 SIMD GFLOP/s measured at `threads` threads in this run, or undefined.
 * @param {Record<string, unknown>} meta
 * @param {number} threads
 */
export function peakAt(meta, threads) {
  const p = /** @type {PeakRecord | undefined} */ (meta.peak);
  return p && 'at' in p ? p.at.find((x) => x.threads === threads)?.gflops : undefined;
}

/**
 * A CPU cell's GFLOP/s over the peak at its thread count (measured at 1 and at all threads), or undefined.
 * @param {Record<string, unknown>} meta
 * @param {CellResult} x
 */
export function peakFraction(meta, x) {
  if (x.status !== 'ok' || x.gflops === undefined || x.threads === undefined) return undefined;
  const peak = peakAt(meta, x.threads);
  return peak ? x.gflops / peak : undefined;
}

/** @param {number} f */
export function fmtFraction(f) {
  return f >= 0.1 ? `${(f * 100).toFixed(0)}%` : f >= 0.001 ? `${(f * 100).toFixed(1)}%` : `${(f * 100).toPrecision(1)}%`;
}

/**
 * The run's peak in one line.
 * @param {Record<string, unknown>} meta
 */
export function peakLine(meta) {
  const p = /** @type {PeakRecord | undefined} */ (meta.peak);
  if (!p) return '';
  if ('error' in p) return `peak f32 SIMD (WebAssembly, ${p.where}): not measured (${p.error})`;
  const at = p.at.map((x) => `${fmtGflops(x.gflops)} GFLOP/s at ${x.threads} thread${x.threads > 1 ? 's' : ''} (${x.op})`);
  return `peak f32 SIMD (WebAssembly, ${p.where}): ${at.join(', ')}`;
}

/**
 * @param {string[][]} rows  first row is the header
 * @returns {string}
 */
function layout(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/**
 * The terminal tables, a row per runner and a column per config: median ms, then each runner's
 * ratio to its baseline, then GFLOP/s.
 * @param {Record_} record
 * @returns {string}
 */
export function formatTables(record) {
  const byKey = index(record.results);
  const present = record.runners.filter((r) => record.results.some((x) => x.runner === r.id));
  const configs = record.configs.filter((c) => record.results.some((x) => x.config === c.id));
  const ids = configs.map((c) => c.id);
  const ms = [['median ms', ...ids]];
  for (const r of present) {
    ms.push([
      r.id,
      ...ids.map((c) => {
        const x = byKey.get(`${c}/${r.id}`);
        if (!x) return '';
        return x.status === 'ok' && x.medianMs !== undefined ? fmtMs(x.medianMs) : (STATUS_TAG[x.status] ?? x.status);
      }),
    ]);
  }
  const ratios = [['ratio to baseline', ...ids]];
  // Only runners whose baseline ran somewhere (--runners may leave it out).
  for (const r of present.filter((q) => ids.some((c) => ratioOf(byKey, q, c) !== undefined))) {
    ratios.push([
      `${r.id} / ${baselineName(r)}`,
      ...ids.map((c) => {
        const q = ratioOf(byKey, r, c);
        return q === undefined ? '' : fmtRatio(q);
      }),
    ]);
  }
  const gf = [['GFLOP/s', ...ids]];
  for (const r of present) {
    gf.push([
      r.id,
      ...ids.map((c) => {
        const x = byKey.get(`${c}/${r.id}`);
        return x?.status === 'ok' && x.gflops !== undefined ? fmtGflops(x.gflops) : '';
      }),
    ]);
  }
  const parts = [
    layout(ms),
    '',
    `${layout(ratios)}\n(a runner's median over its baseline's: above 1, the baseline is faster)`,
    '',
    layout(gf),
  ];
  const cpu = present.filter((r) => record.results.some((x) => x.runner === r.id && x.threads !== undefined));
  if (cpu.length && record.meta.peak) {
    const fr = [['of peak f32 SIMD', ...ids]];
    for (const r of cpu) {
      fr.push([
        r.id,
        ...ids.map((c) => {
          const x = byKey.get(`${c}/${r.id}`);
          const f = x ? peakFraction(record.meta, x) : undefined;
          return f === undefined ? '' : fmtFraction(f);
        }),
      ]);
    }
    parts.push('', `${layout(fr)}\n(GFLOP/s over the ${peakLine(record.meta)}; a runner on N threads against the peak at N)`);
  }
  return parts.join('\n');
}

/**
 * The two numbers a reader looks for first: the latency of one streaming step (config S) and the
 * throughput at B = 64, H = 1024 (config G), for every runner that has them.
 * @param {Record_} record
 * @returns {string}
 */
export function headline(record) {
  const lines = [];
  const ok = (/** @type {string} */ config) => record.results.filter((x) => x.config === config && x.status === 'ok');
  const s = ok('S');
  if (s.length) {
    lines.push(`one step at B=1, H=256 (config S; ours through createState + step, ours-wasm + stepSync, the peers a T=1 forward):`);
    lines.push(`  ${s.map((x) => `${x.runner} ${fmtMs(x.medianMs ?? NaN)} ms`).join(', ')}`);
  }
  const g = ok('G');
  if (g.length) {
    lines.push('throughput at B=64, T=32, H=1024 (config G):');
    lines.push(`  ${g.map((x) => `${x.runner} ${fmtGflops(x.gflops ?? 0)} GFLOP/s`).join(', ')}`);
  }
  return lines.join('\n');
}

/**
 * One line: when, where, what.
 * @param {Record<string, unknown>} meta
 */
export function summary(meta) {
  const a = /** @type {Record<string, string> | string | undefined} */ (meta.adapter);
  const adapter = typeof a === 'string' ? a : a ? [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') : '?';
  const host = meta.host === 'browser' ? `${meta.browser}` : `Node ${meta.nodeVersion}`;
  const commit = typeof meta.gitCommit === 'string' ? meta.gitCommit.slice(0, 10) : '?';
  return `${meta.date} · ${meta.mode} run, ${meta.durationS} s · ${host} · adapter ${adapter} · ${meta.cpu} · commit ${commit}${meta.gitDirty ? ' (with uncommitted changes)' : ''}`;
}

/** @param {unknown} s */
function esc(s) {
  return String(s).replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch] ?? ch);
}

const COLORS = ['#d1495b', '#edae49', '#00798c', '#30638e', '#6a4c93', '#8d8d8d', '#3e8914', '#b5838d'];

/**
 * The SVG bar chart: per config, one bar per peer (and the reference) with its time over ours, on
 * a log scale around 1 (bars up: ours is faster; down: the peer is).
 * @param {Record_} record
 * @returns {string}
 */
export function svgChart(record) {
  const byKey = index(record.results);
  const series = record.runners.filter((r) => (r.family === 'peer' || r.family === 'reference') && r.baseline);
  const configs = record.configs.filter((c) => record.results.some((x) => x.config === c.id));
  /** @type {{ config: string, runner: RunnerDesc, ratio: number | undefined, status: string | undefined }[][]} */
  const groups = configs.map((c) =>
    series.map((r) => ({ config: c.id, runner: r, ratio: ratioOf(byKey, r, c.id), status: byKey.get(`${c.id}/${r.id}`)?.status })),
  );
  const logs = groups.flat().map((g) => (g.ratio ? Math.log10(g.ratio) : 0));
  const top = Math.max(1, Math.ceil(Math.max(0, ...logs)));
  const bottom = Math.min(-1, Math.floor(Math.min(0, ...logs)));
  const bar = 16;
  const gap = 28;
  const left = 60;
  const plotH = 320;
  const topPad = 30;
  const groupW = Math.max(1, series.length) * bar + gap;
  const width = left + configs.length * groupW + 20;
  const height = topPad + plotH + 70 + 20 * Math.ceil(series.length / 3);
  /** @param {number} lg */
  const y = (lg) => topPad + ((top - lg) / (top - bottom)) * plotH;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${left}" y="16" font-size="13">time of each peer / time of its baseline of ours (log scale; above 1: ours is faster)</text>`,
  ];
  for (let e = bottom; e <= top; e++) {
    const label = e >= 0 ? `${10 ** e}×` : `1/${10 ** -e}`;
    parts.push(
      `<line x1="${left}" x2="${width - 10}" y1="${y(e)}" y2="${y(e)}" stroke="${e === 0 ? '#000' : '#ddd'}"/>`,
      `<text x="${left - 6}" y="${y(e) + 4}" text-anchor="end">${label}</text>`,
    );
  }
  groups.forEach((group, gi) => {
    const x0 = left + gi * groupW + gap / 2;
    group.forEach((g, si) => {
      const x = x0 + si * bar;
      const color = COLORS[si % COLORS.length];
      if (g.ratio === undefined) {
        const tag = g.status ? (STATUS_TAG[g.status] ?? g.status) : '';
        if (tag)
          parts.push(
            `<text x="${x + bar / 2}" y="${y(0) - 4}" font-size="9" text-anchor="start" transform="rotate(-90 ${x + bar / 2} ${y(0) - 4})" fill="${color}">${esc(tag)}</text>`,
          );
        return;
      }
      const lg = Math.log10(g.ratio);
      const y1 = Math.min(y(0), y(lg));
      const h = Math.max(1, Math.abs(y(lg) - y(0)));
      parts.push(
        `<rect x="${x + 1}" y="${y1}" width="${bar - 2}" height="${h}" fill="${color}"><title>${esc(`${g.config} ${g.runner.id}: ${fmtRatio(g.ratio)} of ${baselineName(g.runner)}`)}</title></rect>`,
      );
      const ty = lg >= 0 ? y1 - 3 : y1 + h + 9;
      parts.push(`<text x="${x + bar / 2}" y="${ty}" font-size="8" text-anchor="middle">${esc(fmtRatio(g.ratio).replace('×', ''))}</text>`);
    });
    parts.push(
      `<text x="${x0 + (series.length * bar) / 2}" y="${topPad + plotH + 18}" text-anchor="middle" font-size="13">${esc(configs[gi].id)}</text>`,
    );
  });
  series.forEach((r, si) => {
    const lx = left + (si % 3) * 260;
    const ly = topPad + plotH + 40 + Math.floor(si / 3) * 20;
    parts.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[si % COLORS.length]}"/>`,
      `<text x="${lx + 16}" y="${ly}">${esc(`${r.id} / ${baselineName(r)}`)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * @param {Record_} record
 * @returns {string}
 */
export function html(record) {
  const byKey = index(record.results);
  const rows = record.results.map((x) => {
    const r = record.runners.find((q) => q.id === x.runner);
    const ratio = r ? ratioOf(byKey, r, x.config) : undefined;
    const fraction = peakFraction(record.meta, x);
    const cells = [
      x.config,
      x.runner,
      x.status,
      x.firstMs === undefined ? '' : fmtMs(x.firstMs),
      x.medianMs === undefined ? '' : fmtMs(x.medianMs),
      x.minMs === undefined ? '' : fmtMs(x.minMs),
      x.reps ?? '',
      x.gflops === undefined ? '' : fmtGflops(x.gflops),
      x.threads ?? '',
      fraction === undefined ? '' : fmtFraction(fraction),
      x.dispatches ?? '',
      x.submits ?? '',
      x.maxDiff === undefined ? '' : x.maxDiff.toExponential(2),
      ratio === undefined || !r ? '' : `${fmtRatio(ratio)} ${baselineName(r)}`,
      x.message ?? '',
    ];
    return `<tr class="${esc(x.status)}">${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
  });
  const configRows = record.configs.map(
    (c) =>
      `<tr><td>${esc(c.id)}</td><td>${c.batch}</td><td>${c.steps}</td><td>${c.inputSize}</td><td>${c.hiddenSize}</td><td>${c.numLayers}</td><td>${esc(c.direction)}</td><td>${c.gflop?.toFixed(4) ?? ''}</td><td>${esc(c.what)}</td></tr>`,
  );
  const runnerRows = record.runners.map((r) => `<tr><td>${esc(r.id)}</td><td>${esc(baselineName(r))}</td><td>${esc(r.what)}</td></tr>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>webgpu-gru benchmark ${esc(record.meta.date)}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 12px; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
td:nth-child(-n+3), th { text-align: left; }
tr.check-failed td, tr.error td, tr.timeout td { background: #fde2e2; }
tr.skipped td, tr.unsupported td { color: #888; }
pre { background: #f6f6f6; padding: 0.8em; overflow: auto; }
</style></head><body>
<h1>webgpu-gru benchmark</h1>
<p>${esc(summary(record.meta))}</p>
<p>${esc(peakLine(record.meta))}</p>
${svgChart(record)}
<h2>Tables</h2>
<pre>${esc(formatTables(record))}

${esc(headline(record))}</pre>
<h2>Every cell</h2>
<p>first = setup + first forward (compilation included); median/min over the warm repetitions; dispatches and submits in one warm forward;
GFLOP/s at the median, FLOPs per forward = Σ over layers and directions of T·B·(2·3H·K + 2·3H·H), K the layer's input size;
for the CPU runners, the threads they ran on and their GFLOP/s over the peak f32 SIMD throughput measured at that many threads.</p>
<table><tr><th>config</th><th>runner</th><th>status</th><th>first ms</th><th>median ms</th><th>min ms</th><th>reps</th><th>GFLOP/s</th><th>threads</th><th>of peak</th><th>dispatches</th><th>submits</th><th>max |diff|</th><th>ratio</th><th>note</th></tr>
${rows.join('\n')}
</table>
<h2>Configs</h2>
<table><tr><th>id</th><th>B</th><th>T</th><th>I</th><th>H</th><th>layers</th><th>direction</th><th>GFLOP per forward</th><th></th></tr>
${configRows.join('\n')}
</table>
<h2>Runners</h2>
<table><tr><th>id</th><th>baseline</th><th>what</th></tr>
${runnerRows.join('\n')}
</table>
<details><summary>Everything about this run (meta)</summary>
<pre>${esc(JSON.stringify(record.meta, null, 2))}</pre>
</details>
</body></html>
`;
}

/**
 * What the tables compute, for readers of the JSON: every runner's ratio to its baseline per config
 * (which baseline ran, for a list), and every CPU cell's fraction of the peak.
 * @param {Record_} record
 */
export function derived(record) {
  const byKey = index(record.results);
  const ratios = [];
  for (const r of record.runners.filter((q) => q.baseline)) {
    for (const c of record.configs) {
      const ratio = ratioOf(byKey, r, c.id);
      if (ratio !== undefined)
        ratios.push({ config: c.id, runner: r.id, baseline: baselineCell(byKey, r, c.id)?.runner, ratio: Number(ratio.toPrecision(4)) });
    }
  }
  const ofPeak = [];
  for (const x of record.results) {
    const f = peakFraction(record.meta, x);
    if (f !== undefined)
      ofPeak.push({ config: x.config, runner: x.runner, threads: x.threads, gflops: x.gflops, fraction: Number(f.toPrecision(3)) });
  }
  return { ratios, ofPeak };
}

/**
 * Writes `<dir>/<stem>.json` (the record and what `derived` computes from it) and `<dir>/<stem>.html`
 * (and baseline.json when asked).
 * @param {string} dir
 * @param {string} stem
 * @param {Record_} record
 * @param {boolean} baseline
 * @returns {string[]} the paths written
 */
export function writeReports(dir, stem, record, baseline) {
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify({ ...record, derived: derived(record) }, null, 2)}\n`;
  const paths = [join(dir, `${stem}.json`), join(dir, `${stem}.html`)];
  writeFileSync(paths[0], json);
  writeFileSync(paths[1], html(record));
  if (baseline) {
    paths.push(join(dir, 'baseline.json'));
    writeFileSync(paths[2], json);
  }
  return paths;
}
