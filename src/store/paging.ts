// Keyset paging for ARM lists: a page is read in the database in a stable order (name key, then
// row id to break ties between groups), starting strictly after the last key of the page before.
// Memory is bounded by the page, not the subscription, and a page boundary survives concurrent
// inserts and deletes: every row that exists for the whole walk is listed exactly once (an offset
// would skip or repeat rows when one before the offset is added or removed).

export interface PageKey {
  nameKey: string;
  id: string;
}

export interface PageRequest {
  /** The last key of the previous page; absent for the first page. */
  after?: PageKey;
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** The key to continue after, present only when more rows may follow. */
  next?: PageKey;
}

/** Prisma `where` fragment: rows strictly after `after` in keyset order. */
export function afterKey(after: PageKey | undefined) {
  if (!after) return {};
  return { OR: [{ nameKey: { gt: after.nameKey } }, { nameKey: after.nameKey, id: { gt: after.id } }] };
}

export const KEYSET_ORDER = [{ nameKey: "asc" as const }, { id: "asc" as const }];

/** Reads `limit + 1` rows (see `take`) and cuts them into a page that knows whether more follow. */
export function pageOfRows<T extends PageKey>(rows: T[], limit: number): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next: { nameKey: last.nameKey, id: last.id } };
}

/** How many rows to ask for: one more than the page, to know whether a next page exists. */
export function take(page: PageRequest): number {
  return page.limit + 1;
}
