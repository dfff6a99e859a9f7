// PostgreSQL error codes as they surface through Prisma's driver adapter (and the pg driver), as
// predicates the use cases branch on: the store raises what the database said, the caller decides.

export function pgErrorCode(err: unknown): string | undefined {
  const e = err as { code?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
  return e?.meta?.driverAdapterError?.cause?.originalCode ?? (typeof e?.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined);
}

export const isExclusionViolation = (err: unknown) => pgErrorCode(err) === "23P01";
export const isUniqueViolation = (err: unknown) =>
  pgErrorCode(err) === "23505" || (err as { code?: string })?.code === "P2002";
export const isSerializationFailure = (err: unknown) => ["40001", "40P01"].includes(pgErrorCode(err) ?? "");

/**
 * A concurrent writer won: an exclusion constraint (a flow claimed meanwhile), a unique index (a row
 * created meanwhile) or a serialization failure / deadlock. Re-running the write sees the winner.
 */
export const isLostRace = (err: unknown) => isExclusionViolation(err) || isUniqueViolation(err) || isSerializationFailure(err);
