/**
 * Charts for the results tables: each bench script calls `writeResultCharts` with the report it just wrote,
 * and the SVGs land next to it in bench/results/. Run alone (`tsx src/result-charts.ts`) it regenerates the
 * charts of every committed report from its tables, without rerunning the benches.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BarSeries, barChart } from './bar-chart.js';

export const resultsDirectory = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** A markdown table with the nearest heading above it. */
export interface ResultTable {
  heading: string;
  header: string[];
  rows: string[][];
}

const cells = (line: string): string[] =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((cell) => cell.trim());

/** Every table of a markdown report, in order. */
export function parseTables(markdown: string): ResultTable[] {
  const tables: ResultTable[] = [];
  let heading = '';
  const lines = markdown.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    if (/^#+ /.test(line)) heading = line.replace(/^#+ /, '').trim();
    if (!line.startsWith('|') || !/^\|[\s:|-]+\|$/.test((lines[index + 1] ?? '').trim())) continue;
    const table: ResultTable = { heading, header: cells(line), rows: [] };
    index += 2;
    while (index < lines.length && lines[index]!.startsWith('|')) {
      table.rows.push(cells(lines[index]!));
      index += 1;
    }
    index -= 1;
    tables.push(table);
  }
  return tables;
}

/** `+1.58`, `4,373`, `57.19 %`, `25.2 s`, `1009 ms` → a number (seconds become ms); undefined for `–`. */
export function numberOf(cell: string | undefined): number | undefined {
  if (cell === undefined) return undefined;
  const match = /^([+-]?[\d,]*\.?\d+)\s*(%|ms|s|×)?$/.exec(cell.replace(/\*/g, '').trim());
  if (!match) return undefined;
  const value = Number(match[1]!.replace(/,/g, ''));
  return match[2] === 's' ? value * 1000 : value;
}

function column(table: ResultTable, name: string): number {
  const index = table.header.findIndex((header) => header.toLowerCase() === name.toLowerCase());
  if (index === -1) throw new Error(`no column "${name}" in the table under "${table.heading}"`);
  return index;
}

function tableUnder(tables: readonly ResultTable[], heading: string): ResultTable {
  const table = tables.find((candidate) => candidate.heading.startsWith(heading));
  if (!table) throw new Error(`no table under a heading starting "${heading}"`);
  return table;
}

const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948'];

function series(table: ResultTable, names: readonly string[], labels?: readonly string[]): BarSeries[] {
  return names.map((name, index) => ({
    name: labels?.[index] ?? name,
    color: palette[index % palette.length]!,
    values: table.rows.map((row) => numberOf(row[column(table, name)])),
  }));
}

/** The charts of one report (`gateway`, `limiter`, `resilience`, `cache`): file name → SVG. */
export function chartsFor(report: string, markdown: string): Map<string, string> {
  const tables = parseTables(markdown);
  const charts = new Map<string, string>();
  if (report === 'gateway') {
    const latency = tableUnder(tables, 'Added latency, non-streamed');
    charts.set(
      'gateway-latency.svg',
      barChart({
        title: 'Latency per path, non-streamed (open loop 200 req/s)',
        subtitle: 'bench/results/gateway.md; ms from send to the last body byte',
        yLabel: 'ms',
        categories: latency.rows.map((row) => row[0]!),
        series: series(latency, ['p50', 'p90', 'p99']),
      }),
    );
    const throughput = tableUnder(tables, 'Max throughput');
    charts.set(
      'gateway-throughput.svg',
      barChart({
        title: 'Max throughput per path (closed loop, 50 connections, 2 shared cores)',
        subtitle: 'bench/results/gateway.md',
        yLabel: 'requests per second',
        categories: throughput.rows.map((row) => row[0]!),
        series: series(throughput, ['req/s']),
        formatValue: (value) => String(Math.round(value)),
      }),
    );
  } else if (report === 'limiter') {
    const goodput = tables[0]!;
    charts.set(
      'limiter-goodput.svg',
      barChart({
        title: 'Goodput under a 20 req/s upstream limit, arrivals at 150 %',
        subtitle: 'bench/results/limiter.md; the upstream allows at most 1.125',
        yLabel: 'fraction of the limit',
        categories: goodput.rows.map((row) => row[0]!.replace(/\s*\(.*\)$/, '')),
        series: series(goodput, ['Goodput (fraction of the limit)'], ['goodput']),
      }),
    );
    charts.set(
      'limiter-429s.svg',
      barChart({
        title: '429s per 1,000 upstream requests',
        subtitle: 'bench/results/limiter.md',
        yLabel: '429s per 1,000 requests',
        categories: goodput.rows.map((row) => row[0]!.replace(/\s*\(.*\)$/, '')),
        series: series(goodput, ['429s per 1,000 upstream requests'], ['429s']),
        formatValue: (value) => String(Math.round(value)),
      }),
    );
  } else if (report === 'resilience') {
    const scenarios = tables.filter((table) =>
      table.header.includes('calls sent to a target while it was down'),
    );
    const policies = scenarios[0]?.rows.map((row) => row[0]!) ?? [];
    const down = scenarios.filter((table) =>
      table.rows.some(
        (row) => numberOf(row[column(table, 'calls sent to a target while it was down')]) !== undefined,
      ),
    );
    charts.set(
      'resilience-outage.svg',
      barChart({
        title: 'Calls sent into an outage, per strategy',
        subtitle: 'bench/results/resilience.md; calls sent to a target while it was down (fewer is better)',
        yLabel: 'calls',
        categories: down.map((table) => table.heading),
        series: policies.map((policy, index) => ({
          name: policy,
          color: palette[index % palette.length]!,
          values: down.map((table) => {
            const row = table.rows.find((candidate) => candidate[0] === policy);
            return numberOf(row?.[column(table, 'calls sent to a target while it was down')]);
          }),
        })),
        formatValue: (value) => String(Math.round(value)),
      }),
    );
    charts.set(
      'resilience-p99.svg',
      barChart({
        title: 'p99 latency per scenario and strategy',
        subtitle: 'bench/results/resilience.md (virtual time)',
        yLabel: 'ms',
        categories: scenarios.map((table) => table.heading),
        series: policies.map((policy, index) => ({
          name: policy,
          color: palette[index % palette.length]!,
          values: scenarios.map((table) => {
            const row = table.rows.find((candidate) => candidate[0] === policy);
            return numberOf(row?.[column(table, 'p99 latency')]);
          }),
        })),
        formatValue: (value) => (value >= 1000 ? `${(value / 1000).toFixed(1)}s` : String(Math.round(value))),
      }),
    );
  } else if (report === 'cache') {
    const table = tables[0]!;
    charts.set(
      'cache.svg',
      barChart({
        title: 'Cache: median time per call',
        subtitle: 'bench/results/cache.md',
        yLabel: 'µs',
        categories: table.rows.map((row) => `${row[0]} (${row[1]})`),
        series: series(table, ['Median (µs)'], ['median']),
        width: 1000,
        height: 480,
      }),
    );
  }
  return charts;
}

/**
 * Writes the charts of `report` next to its results table; returns the files written. A report whose tables
 * changed shape gets a warning on stderr, not an exception: the table it comes from is already written.
 */
export function writeResultCharts(report: string, markdown: string, directory = resultsDirectory): string[] {
  const written: string[] = [];
  let charts: Map<string, string>;
  try {
    charts = chartsFor(report, markdown);
  } catch (error) {
    process.stderr.write(`No charts for ${report}: ${(error as Error).message}\n`);
    return written;
  }
  for (const [file, svg] of charts) {
    writeFileSync(join(directory, file), svg);
    written.push(join(directory, file));
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const report of ['gateway', 'limiter', 'resilience', 'cache']) {
    const markdown = readFileSync(join(resultsDirectory, `${report}.md`), 'utf8');
    for (const file of writeResultCharts(report, markdown)) process.stdout.write(`wrote ${file}\n`);
  }
}
