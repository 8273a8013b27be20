/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): top functions by self time and by inclusive
 * time, with dist/*.js locations mapped back to src/*.ts through the source maps, and self time per area
 * (gateway, each @bulwark package, each dependency, Node internals, GC).
 *
 * Standalone: `tsx src/gateway-bench/summarize-profile.ts FILE.cpuprofile [top] [fromMs]`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  location: string;
  area: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  self: ProfileEntry[];
  inclusive: ProfileEntry[];
  /** Self time of every sample charged to the innermost Bulwark frame on its stack (what our code caused). */
  attributed: ProfileEntry[];
  areas: Array<{ area: string; ms: number; share: number }>;
}

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sourceMaps = new Map<string, SourceMap | undefined>();

function sourceMapFor(file: string): SourceMap | undefined {
  if (!sourceMaps.has(file)) {
    const mapFile = `${file}.map`;
    let map: SourceMap | undefined;
    if (existsSync(mapFile)) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')));
      } catch {
        map = undefined;
      }
    }
    sourceMaps.set(file, map);
  }
  return sourceMaps.get(file);
}

/** `file:line` relative to the repository, mapped to the TypeScript source when a map exists. */
function locate(frame: CallFrame): string {
  if (!frame.url) return '';
  if (!frame.url.startsWith('file://')) return `${frame.url}:${frame.lineNumber + 1}`;
  const file = fileURLToPath(frame.url);
  const map = sourceMapFor(file);
  if (map) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
      originalSource?: string;
      originalLine?: number;
    };
    if (entry.originalSource !== undefined && entry.originalLine !== undefined) {
      const source = entry.originalSource.startsWith('file://')
        ? fileURLToPath(entry.originalSource)
        : resolve(dirname(file), entry.originalSource);
      return `${relative(repositoryRoot, source)}:${entry.originalLine + 1}`;
    }
  }
  return `${relative(repositoryRoot, file)}:${frame.lineNumber + 1}`;
}

function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(root)')
      return functionName;
    return 'V8/native';
  }
  if (url.startsWith('node:')) {
    const module = url.slice('node:'.length).replace(/^internal\//, '');
    if (module.startsWith('deps/undici')) return 'Node: undici (fetch)';
    if (module.startsWith('webstreams') || module === 'worker/js_transferable') return 'Node: web streams';
    if (module.startsWith('streams') || module === 'stream') return 'Node: streams';
    if (module.startsWith('http') || module.startsWith('_http')) return 'Node: http';
    if (module === 'net' || module.startsWith('stream_base') || module.startsWith('net')) return 'Node: net';
    if (module.includes('abort_controller') || module.startsWith('event_target'))
      return 'Node: AbortSignal/EventTarget';
    return 'Node: other';
  }
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const dependency = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (dependency) return `dep ${dependency[1]}`;
  const inRepository = relative(repositoryRoot, path);
  const workspace = /^(apps|packages)\/([^/]+)\//.exec(inRepository);
  if (workspace) return `${workspace[1]}/${workspace[2]}`;
  return 'other';
}

const isBulwark = (area: string): boolean => area.startsWith('apps/') || area.startsWith('packages/');

/**
 * `fromMs`: ignore samples taken earlier than this many ms after the profile started (start-up, warm-up).
 */
export function summarizeProfile(file: string, top = 25, fromMs = 0): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  // Time of sample i is the gap to the next sample (the last one gets the mean gap).
  const sampleMs = new Float64Array(profile.samples.length);
  const profileMs = (profile.endTime - profile.startTime) / 1000;
  for (let index = 0; index < profile.samples.length; index += 1) {
    const next = profile.timeDeltas[index + 1];
    sampleMs[index] = (next ?? (profileMs * 1000) / Math.max(1, profile.samples.length)) / 1000;
  }
  const keyOf = new Map<number, string>();
  const describe = new Map<string, { name: string; location: string; area: string }>();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const name = frame.functionName || '(anonymous)';
    const location = locate(frame);
    const key = `${name}@${location}`;
    keyOf.set(node.id, key);
    if (!describe.has(key)) describe.set(key, { name, location, area: areaOf(frame) });
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  const attributed = new Map<string, number>();
  let idleMs = 0;
  let elapsedMs = 0;
  let windowStartMs = Number.NaN;
  let windowEndMs = 0;
  for (let index = 0; index < profile.samples.length; index += 1) {
    elapsedMs += profile.timeDeltas[index]! / 1000;
    if (elapsedMs < fromMs) continue;
    if (Number.isNaN(windowStartMs)) windowStartMs = elapsedMs;
    windowEndMs = elapsedMs;
    const id = profile.samples[index]!;
    const ms = sampleMs[index]!;
    const key = keyOf.get(id)!;
    const info = describe.get(key)!;
    if (info.area === '(idle)') {
      idleMs += ms;
      continue;
    }
    self.set(key, (self.get(key) ?? 0) + ms);
    areas.set(info.area, (areas.get(info.area) ?? 0) + ms);
    const seen = new Set<string>();
    let owner: string | undefined;
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const stackKey = keyOf.get(current)!;
      if (owner === undefined && isBulwark(describe.get(stackKey)!.area)) {
        owner = stackKey;
        attributed.set(owner, (attributed.get(owner) ?? 0) + ms);
      }
      if (seen.has(stackKey)) continue;
      seen.add(stackKey);
      inclusive.set(stackKey, (inclusive.get(stackKey) ?? 0) + ms);
    }
  }
  const busyMs = [...areas.values()].reduce((sum, ms) => sum + ms, 0);
  const rank = (table: Map<string, number>, filter: (area: string) => boolean): ProfileEntry[] =>
    [...table.entries()]
      .filter(([key]) => filter(describe.get(key)!.area))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, ms]) => ({ ...describe.get(key)!, ms, share: ms / busyMs }));
  return {
    totalMs: Number.isNaN(windowStartMs) ? 0 : windowEndMs - windowStartMs,
    idleMs,
    busyMs,
    self: rank(self, () => true),
    // Inclusive time is only informative for code we own (the roots and the event loop cover everything).
    inclusive: rank(inclusive, isBulwark),
    attributed: rank(attributed, isBulwark),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, ms]) => ({ area, ms, share: ms / busyMs })),
  };
}

export function profileMarkdown(summary: ProfileSummary): string {
  const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
  const escapePipes = (text: string): string => text.replaceAll('|', '\\|');
  const rows = (entries: ProfileEntry[]): string =>
    entries
      .map(
        (entry) =>
          `| ${percent(entry.share)} | ${entry.ms.toFixed(0)} | \`${escapePipes(entry.name)}\` | ${escapePipes(entry.location) || '—'} | ${entry.area} |`,
      )
      .join('\n');
  return [
    `Profile window: ${summary.totalMs.toFixed(0)} ms wall, ${summary.busyMs.toFixed(0)} ms on CPU (main thread), ${summary.idleMs.toFixed(0)} ms idle. Shares are of on-CPU time.`,
    '',
    '**Self time by area**',
    '',
    '| Share | ms | Area |',
    '| ---: | ---: | --- |',
    ...summary.areas
      .slice(0, 20)
      .map((area) => `| ${percent(area.share)} | ${area.ms.toFixed(0)} | ${area.area} |`),
    '',
    '**Top functions by self time**',
    '',
    '| Share | ms | Function | Location | Area |',
    '| ---: | ---: | --- | --- | --- |',
    rows(summary.self),
    '',
    '**Self time charged to the innermost Bulwark frame on the stack** (the Bulwark line that caused the work, including the Node and SDK work it called synchronously; GC and bare event-loop work are charged to nothing)',
    '',
    '| Share | ms | Function | Location | Area |',
    '| ---: | ---: | --- | --- | --- |',
    rows(summary.attributed),
    '',
    '**Top Bulwark functions by inclusive time** (self + callees)',
    '',
    '| Share | ms | Function | Location | Area |',
    '| ---: | ---: | --- | --- | --- |',
    rows(summary.inclusive),
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: summarize-profile.ts FILE.cpuprofile [top] [fromMs]\n');
    process.exit(1);
  }
  const top = Number(process.argv[3] ?? 25);
  const fromMs = Number(process.argv[4] ?? 0);
  process.stdout.write(`${profileMarkdown(summarizeProfile(file, top, fromMs))}\n`);
}
