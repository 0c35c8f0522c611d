#!/usr/bin/env node
/**
 * Writes bench/latency.svg from bench/results.json: p50 and p99 per operation as horizontal bars on a
 * log scale, in the order of the run's phases (the bare-D1 baseline's next to the service's), then the
 * webhook's delivery lag per event type. Hand-written SVG, no dependencies.
 *
 *   node bench/chart.mjs [results.json] [out.svg]
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const input = path.resolve(process.argv[2] ?? path.join(here, "results.json"));
const output = path.resolve(process.argv[3] ?? path.join(here, "latency.svg"));

const results = JSON.parse(await readFile(input, "utf8"));

/** Rows: { group, label, p50, p99, n }. Probes and single bookkeeping requests are left out. */
const rows = [];
for (const [name, phase] of Object.entries(results.phases ?? {})) {
  if (phase.skipped || !phase.kinds) continue;
  for (const [kind, st] of Object.entries(phase.kinds)) {
    if (!st.n || st.p50 === null) continue;
    if (name === "seed") continue;
    rows.push({ group: name, label: kind, p50: st.p50, p99: st.p99, n: st.n });
  }
}
// Webhook delivery lag (arrival at the bench's receiver minus the event's commit), per event type.
for (const [type, st] of Object.entries(results.webhook?.lagByType ?? {})) {
  if (st.n && st.p50 !== null) rows.push({ group: "webhook lag", label: type, p50: Math.max(st.p50, 0.1), p99: Math.max(st.p99, 0.1), n: st.n });
}
if (rows.length === 0) {
  process.stderr.write(`no latency samples in ${input}\n`);
  process.exit(1);
}

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);

// Layout
const rowH = 26;
const labelW = 420;
const plotW = 560;
const valueW = 150;
const top = 70;
const left = 16;
const width = left + labelW + plotW + valueW + 16;
const height = top + rows.length * rowH + 60;

// Log scale over [lo, hi] in ms.
const minV = Math.min(...rows.map((r) => r.p50));
const maxV = Math.max(...rows.map((r) => r.p99));
const lo = 10 ** Math.floor(Math.log10(Math.max(0.1, minV)));
/** The smallest 1-2-5 step at or above the largest p99. */
const hi = (() => {
  const top = Math.max(maxV, lo * 10);
  const decade = 10 ** Math.floor(Math.log10(top));
  return [1, 2, 5, 10].map((m) => m * decade).find((v) => v >= top);
})();
const x = (v) => left + labelW + (plotW * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));

const parts = [];
parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`);
parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
const meta = results.meta ?? {};
const opt = meta.options ?? {};
parts.push(`<text x="${left}" y="22" font-size="15" font-weight="600" fill="#111">TheStorage SCIM — latency by operation (p50 and p99, log scale)</text>`);
parts.push(
  `<text x="${left}" y="42" fill="#555">${esc(`${meta.startedAt ?? ""} · commit ${meta.commit ?? "?"} · wrangler ${meta.wrangler ?? "?"} · ${meta.cpus ?? "?"} CPUs · ${opt.users ?? "?"} users, concurrency ${opt.concurrency ?? "?"}${results.webhook ? ", one webhook" : ""}`)}</text>`,
);

// Grid: 1-2-5 ticks per decade.
for (let decade = lo; decade < hi * 1.001; decade *= 10) {
  for (const m of [1, 2, 5]) {
    const v = decade * m;
    if (v > hi * 1.001) continue;
    const gx = x(v).toFixed(1);
    parts.push(`<line x1="${gx}" y1="${top - 8}" x2="${gx}" y2="${top + rows.length * rowH}" stroke="${m === 1 ? "#ccc" : "#eee"}"/>`);
    parts.push(`<text x="${gx}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#666" font-size="11">${esc(v >= 1000 ? `${v / 1000}s` : `${v}`)}</text>`);
  }
}
parts.push(`<text x="${left + labelW + plotW / 2}" y="${top + rows.length * rowH + 34}" text-anchor="middle" fill="#666" font-size="11">milliseconds</text>`);

// Legend
parts.push(`<rect x="${left + labelW}" y="${top - 22}" width="12" height="10" fill="#2b6cb0"/><text x="${left + labelW + 16}" y="${top - 13}" fill="#333">p50</text>`);
parts.push(`<rect x="${left + labelW + 56}" y="${top - 22}" width="12" height="10" fill="#90cdf4"/><text x="${left + labelW + 72}" y="${top - 13}" fill="#333">p99</text>`);
parts.push(`<rect x="${left + labelW + 112}" y="${top - 22}" width="12" height="10" fill="#718096"/><text x="${left + labelW + 128}" y="${top - 13}" fill="#333">baseline p50 (bare Worker + D1)</text>`);

let previousGroup = null;
rows.forEach((r, i) => {
  const y = top + i * rowH;
  const isBase = r.group.startsWith("baseline");
  if (r.group !== previousGroup && i > 0) parts.push(`<line x1="${left}" y1="${y}" x2="${width - 16}" y2="${y}" stroke="#ddd"/>`);
  const label = `${r.group !== previousGroup ? r.group : ""}`;
  previousGroup = r.group;
  parts.push(`<text x="${left}" y="${y + 17}" fill="#111" font-weight="600">${esc(label)}</text>`);
  parts.push(`<text x="${left + 110}" y="${y + 17}" fill="#333">${esc(r.label)} <tspan fill="#999">n=${r.n}</tspan></text>`);
  const x0 = x(lo);
  parts.push(`<rect x="${x0}" y="${y + 5}" width="${Math.max(1, x(r.p99) - x0).toFixed(1)}" height="16" fill="${isBase ? "#cbd5e0" : "#90cdf4"}"><title>${esc(`${r.group} / ${r.label}: p99 ${fmt(r.p99)}`)}</title></rect>`);
  parts.push(`<rect x="${x0}" y="${y + 9}" width="${Math.max(1, x(r.p50) - x0).toFixed(1)}" height="8" fill="${isBase ? "#718096" : "#2b6cb0"}"><title>${esc(`${r.group} / ${r.label}: p50 ${fmt(r.p50)}`)}</title></rect>`);
  parts.push(`<text x="${left + labelW + plotW + 8}" y="${y + 17}" fill="#333">${esc(`${fmt(r.p50)} / ${fmt(r.p99)}`)}</text>`);
});
parts.push(`</svg>`);

await writeFile(output, parts.join("\n") + "\n");
process.stderr.write(`wrote ${path.relative(process.cwd(), output) || output} (${rows.length} operations)\n`);
