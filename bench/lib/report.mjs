/** Plain-text tables for the bench's stdout. */

export function fmtMs(x) {
  if (x === null || x === undefined) return "–";
  if (x >= 1000) return `${(x / 1000).toFixed(2)}s`;
  if (x >= 100) return x.toFixed(0);
  return x.toFixed(1);
}

export function fmtRatio(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : `${x.toFixed(2)}×`;
}

/** Renders rows (arrays of cells) under `header`; numeric-looking columns are right-aligned. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? "" : String(c))));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.every((r) => /^[-–\d.,×%s/ ]*$/.test(String(r[i] ?? ""))));
  const line = (r) =>
    r
      .map((c, i) => (numeric[i] && i > 0 ? (c ?? "").padStart(widths[i]) : (c ?? "").padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const sep = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(all[0]), sep, ...all.slice(1).map(line)].join("\n");
}
