// Recognising the database's constraint violations, so stores can turn a lost race (two writers,
// one unique address) into a clear 4xx instead of a 500. Prisma 7 with the pg driver adapter puts
// the violated constraint under meta.driverAdapterError.cause.

interface AdapterCause {
  kind?: string;
  originalCode?: string;
  constraint?: { index?: string; fields?: string[] };
}

function causeOf(err: unknown): { code?: string; cause?: AdapterCause } {
  if (typeof err !== "object" || err === null) return {};
  const e = err as { code?: string; meta?: { driverAdapterError?: { cause?: AdapterCause } } };
  return { code: e.code, cause: e.meta?.driverAdapterError?.cause };
}

/** The violated unique index name (or "" when unknown) when `err` is a unique violation, else undefined. */
export function uniqueViolation(err: unknown): string | undefined {
  const { code, cause } = causeOf(err);
  if (code !== "P2002" && cause?.originalCode !== "23505") return undefined;
  return cause?.constraint?.index ?? cause?.constraint?.fields?.join(",") ?? "";
}

/** True when `err` is a foreign-key violation (e.g. deleting a row another row still references). */
export function isForeignKeyViolation(err: unknown): boolean {
  const { code, cause } = causeOf(err);
  return code === "P2003" || cause?.originalCode === "23503" || cause?.kind === "ForeignKeyConstraintViolation";
}
