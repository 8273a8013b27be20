/** A budget period, in UTC. */
export type BudgetWindow = 'day' | 'month';

/** How long counters outlive their window, so a call settled just after midnight still lands. */
export const windowGraceMs = 24 * 60 * 60 * 1000;

/** The window containing `now` (ms since the epoch, UTC): an id for keys and when it ends. */
export function windowAt(now: number, window: BudgetWindow): { id: string; endsAt: number } {
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const monthId = `${year}-${String(month + 1).padStart(2, '0')}`;
  if (window === 'month') return { id: monthId, endsAt: Date.UTC(year, month + 1, 1) };
  const day = date.getUTCDate();
  return { id: `${monthId}-${String(day).padStart(2, '0')}`, endsAt: Date.UTC(year, month, day + 1) };
}
