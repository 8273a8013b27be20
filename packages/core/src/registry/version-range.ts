/**
 * The subset of npm's semver ranges a plugin's `coreRange` uses: `^1.2.3`, `~1.2.3`, `>=1.2.3 <2`,
 * `1.2.3`, `1.x`, `*`, and `||` between them. Prerelease tags are ignored (compared by x.y.z).
 */
type Triple = [number, number, number];

function parseVersion(text: string): Triple | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function compare(a: Triple, b: Triple): number {
  for (let index = 0; index < 3; index++) {
    if (a[index]! !== b[index]!) return a[index]! - b[index]!;
  }
  return 0;
}

/** `1`, `1.2`, `1.x`, `1.2.*` → the lower bound and how many parts were given. */
function parsePartial(text: string): { version: Triple; parts: number } | undefined {
  const pieces = text.replace(/^v/, '').split('.');
  const numbers: number[] = [];
  for (const piece of pieces.slice(0, 3)) {
    if (piece === 'x' || piece === 'X' || piece === '*') break;
    const value = /^\d+$/.test(piece.replace(/[-+].*$/, ''))
      ? Number(piece.replace(/[-+].*$/, ''))
      : Number.NaN;
    if (Number.isNaN(value)) return undefined;
    numbers.push(value);
  }
  return { version: [numbers[0] ?? 0, numbers[1] ?? 0, numbers[2] ?? 0], parts: numbers.length };
}

/** The exclusive upper bound of `^` / `~` / a partial version. */
function upper(version: Triple, parts: number, operator: '^' | '~' | ''): Triple | undefined {
  const [major, minor, patch] = version;
  if (operator === '^') {
    if (major > 0 || parts < 2) return [major + 1, 0, 0];
    if (minor > 0 || parts < 3) return [0, minor + 1, 0];
    return [0, 0, patch + 1];
  }
  if (operator === '~') return parts < 2 ? [major + 1, 0, 0] : [major, minor + 1, 0];
  if (parts === 0) return undefined;
  if (parts === 1) return [major + 1, 0, 0];
  if (parts === 2) return [major, minor + 1, 0];
  return [major, minor, patch + 1];
}

function satisfiesComparator(version: Triple, comparator: string): boolean | undefined {
  const match = /^(\^|~|>=|<=|>|<|=)?\s*(.+)$/.exec(comparator);
  if (!match) return undefined;
  const operator = match[1] ?? '';
  const partial = parsePartial(match[2]!);
  if (!partial) return undefined;
  const order = compare(version, partial.version);
  switch (operator) {
    case '>=':
      return order >= 0;
    case '>':
      return order > 0;
    case '<=':
      return order <= 0;
    case '<':
      return order < 0;
    default: {
      const bound = upper(
        partial.version,
        partial.parts,
        operator === '=' ? '' : (operator as '^' | '~' | ''),
      );
      return order >= 0 && (bound === undefined || compare(version, bound) < 0);
    }
  }
}

/**
 * Whether `version` is in `range`; `undefined` when the range (or the version) is not one this
 * function understands, so the caller can say so instead of guessing.
 */
export function satisfiesRange(version: string, range: string): boolean | undefined {
  const parsed = parseVersion(version);
  if (!parsed) return undefined;
  let any = false;
  for (const set of range.split('||')) {
    const comparators = set
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    if (comparators.length === 0) comparators.push('*');
    let all = true;
    for (const comparator of comparators) {
      const result = satisfiesComparator(parsed, comparator);
      if (result === undefined) return undefined;
      if (!result) all = false;
    }
    if (all) any = true;
  }
  return any;
}
