/**
 * Results for the driver: the rows of the table, the statistics behind them, the printed
 * table and the JSON written to bench/results/.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import process from "node:process";
import { ROOT } from "./_child.ts";

/** One line of the table: ours against one peer on one target (a runtime, or a Node line). */
export interface Row {
  section: string;
  /** The target's name: `node24`, `deno`, `bun`. */
  runtime: string;
  /** What is compared, e.g. `GET / req/s: serve() / Deno.serve`. */
  name: string;
  unit: string;
  /** Median of ours. */
  ours: number;
  /** Median of the peer, when there is one. */
  peer?: number;
  /**
   * `ratio`: median of the per-round ratios ours / peer (each round measures both back to
   * back, so drift cancels); `delta`: median of ours minus median of the peer; `value`: ours.
   */
  compare: { kind: "ratio" | "delta" | "value"; median: number; min: number; max: number };
  /**
   * For rates: the same ratio over wall-clock time. `compare` then divides by CPU time (the
   * worker's own, or the server's), which other work on the machine does not change.
   */
  wall?: { median: number; min: number; max: number };
  /** The target, as text, e.g. `≥ 0.95`. */
  target?: string;
  met?: boolean;
  note?: string;
}

/**
 * The value of command-line option `--name`, as a positive integer.
 *
 * @throws {TypeError} Naming the option and the value, for anything else.
 */
export function positiveInteger(name: string, value: string | undefined): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) {
    throw new TypeError(`--${name}: expected a positive integer, got ${value}`);
  }
  return number;
}

/** The middle value (mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle] as number
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Median, min and max of `values`. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Per-round ratios `ours[i] / peer[i]`, as spread. */
export function ratios(
  ours: readonly number[],
  peer: readonly number[],
): { kind: "ratio"; median: number; min: number; max: number } {
  return { kind: "ratio", ...spread(ours.map((value, i) => value / (peer[i] as number))) };
}

function formatNumber(value: number | undefined, unit = ""): string {
  if (value === undefined || Number.isNaN(value)) return "–";
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return `${value.toLocaleString("en-US", { maximumFractionDigits: digits })}${unit}`;
}

function formatCompare(row: Row): string {
  const { kind, median, min, max } = row.compare;
  if (kind === "ratio") return `${median.toFixed(3)}× [${min.toFixed(2)}–${max.toFixed(2)}]`;
  const unit = row.unit === "ms" ? " ms" : ` ${row.unit}`;
  if (kind === "value") return min === max ? "" : `[${formatNumber(min)}–${formatNumber(max)}]`;
  return `${median > 0 ? "+" : ""}${formatNumber(median)}${unit}`;
}

/** ✓ for a row that meets its target, ✗ for one that misses it, nothing for one without. */
function mark(row: Row): string {
  return row.met === undefined ? "" : row.met ? "✓" : "✗";
}

/** The rows with a target, one line each: ✓ or ✗, the runtime, the case, the figure, target. */
export function formatTargets(rows: readonly Row[]): string {
  const withTarget = rows.filter((row) => row.met !== undefined);
  const width = Math.max(0, ...withTarget.map((row) => row.runtime.length));
  const nameWidth = Math.max(0, ...withTarget.map((row) => row.name.length));
  return withTarget.map((row) => {
    // A ratio, a difference (for a target of "+N"), else the value itself.
    const figure = row.compare.kind === "ratio"
      ? `${row.compare.median.toFixed(3)}×`
      : row.compare.kind === "delta" && row.target?.includes("+")
      ? formatCompare(row)
      : formatNumber(row.ours, ` ${row.unit}`);
    return `  ${mark(row)} ${row.runtime.padEnd(width)}  ${row.name.padEnd(nameWidth)}  ${
      figure.padStart(10)
    }  target ${row.target}`;
  }).join("\n");
}

/** The table, as printed. */
export function formatTable(rows: readonly Row[]): string {
  const header = [
    "section",
    "runtime",
    "case",
    "ours",
    "peer",
    "ours vs peer",
    "wall-clock",
    "target",
    "",
  ];
  const lines = rows.map((row) => [
    row.section,
    row.runtime,
    row.name,
    formatNumber(row.ours),
    formatNumber(row.peer),
    formatCompare(row),
    row.wall ? `${row.wall.median.toFixed(3)}×` : "",
    row.target ?? "",
    mark(row),
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => (line[i] as string).length))
  );
  const format = (cells: string[]) =>
    cells.map((cell, i) =>
      i >= 3 && i <= 6 ? cell.padStart(widths[i] as number) : cell
        .padEnd(widths[i] as number)
    ).join("  ").trimEnd();
  const notes = rows.filter((row) => row.note).map((row) =>
    `  ${row.runtime} ${row.name}: ${row.note}`
  );
  return [
    format(header),
    format(widths.map((width) => "-".repeat(width))),
    ...lines.map(format),
    ...(notes.length > 0 ? ["", "notes:", ...notes] : []),
  ].join("\n");
}

/** The machine, for the record. */
export function machine(): Record<string, string | number> {
  const cores = cpus();
  return {
    cpu: cores[0]?.model ?? "?",
    cores: cores.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    loadavgAtStart: loadavg()[0] ?? 0,
  };
}

/** Writes `report` to bench/results/<timestamp>.json and latest.json; returns the path. */
export function writeResults(report: object): string {
  const directory = `${ROOT}bench/results`;
  mkdirSync(directory, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const path = `${directory}/${stamp}.json`;
  writeFileSync(path, text);
  writeFileSync(`${directory}/latest.json`, text);
  return path;
}
