// Azure Monitor's metrics query language, parsed into plain data: `timespan` ("start/end",
// "start/duration", or a duration that ends now), `interval` (an ISO 8601 duration of whole minutes, or
// FULL), `aggregation` (a comma list), and `$filter` ("A eq 'a1' and B eq 'b1' or B eq 'b2' and C eq '*'":
// clauses joined by `and`, each one dimension, alternatives joined by `or`, parentheses allowed).
// As in Azure, every dimension named in $filter splits the result into series; `'*'` means any value.
// Bad input yields a QueryProblem naming the parameter, never an exception, so the use case maps it to
// the error catalogue.

import { AGGREGATIONS, DIMENSIONS, type Aggregation, type Dimension } from "./metrics-protocol.js";

export interface QueryProblem {
  parameter: "timespan" | "interval" | "aggregation" | "$filter";
  detail: string;
}

const isProblem = (x: unknown): x is QueryProblem => typeof x === "object" && x !== null && "parameter" in x && "detail" in x;
export { isProblem as isQueryProblem };

/** Most points one series may have: a week of minutes, or 30 days of 5-minute grains, fit. */
export const MAX_POINTS = 10_080;
const MINUTE_MS = 60_000;

/** ISO 8601 duration (PnW, PnDTnHnMnS, fractions of seconds allowed) in milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text.trim());
  if (!m || /T$/i.test(text.trim()) || text.trim().length < 3) return undefined;
  const [, w, d, h, min, s] = m;
  const ms = ((Number(w ?? 0) * 7 + Number(d ?? 0)) * 24 * 3600 + Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(s ?? 0)) * 1000;
  return ms > 0 ? ms : undefined;
}

export interface Timespan {
  from: Date;
  to: Date;
}

/** Default: the hour before now. Bounds are rounded out to whole minutes (the storage grain). */
export function parseTimespan(text: string | undefined, now: number): Timespan | QueryProblem {
  let from: number;
  let to: number;
  if (!text) {
    to = now;
    from = now - 3600_000;
  } else {
    const parts = text.split("/");
    if (parts.length > 2) return { parameter: "timespan", detail: `'${text}' is not 'start/end', 'start/duration' or 'duration'` };
    const time = (s: string) => (/^\d{4}-/.test(s) ? Date.parse(s) : Number.NaN);
    if (parts.length === 1) {
      const span = parseDuration(parts[0]);
      if (span === undefined) return { parameter: "timespan", detail: `'${text}' is not an ISO 8601 duration or interval` };
      to = now;
      from = now - span;
    } else {
      from = time(parts[0]);
      const end = time(parts[1]);
      const span = parseDuration(parts[1]);
      to = Number.isFinite(end) ? end : span !== undefined ? from + span : Number.NaN;
      if (!Number.isFinite(from) || !Number.isFinite(to)) return { parameter: "timespan", detail: `'${text}' is not 'start/end' or 'start/duration' in ISO 8601` };
    }
  }
  from = Math.floor(from / MINUTE_MS) * MINUTE_MS;
  to = Math.ceil(to / MINUTE_MS) * MINUTE_MS;
  if (to <= from) return { parameter: "timespan", detail: "the end must be after the start" };
  return { from: new Date(from), to: new Date(to) };
}

/** Grain in ms (whole minutes; stored buckets are minutes), or undefined for FULL. Default PT1M. */
export function parseInterval(text: string | undefined, span: Timespan): { grainMs: number | undefined; label: string } | QueryProblem {
  if (!text) return { grainMs: MINUTE_MS, label: "PT1M" };
  if (text.trim().toUpperCase() === "FULL") return { grainMs: undefined, label: "FULL" };
  const ms = parseDuration(text);
  if (ms === undefined || ms % MINUTE_MS !== 0) return { parameter: "interval", detail: `'${text}' is not FULL or an ISO 8601 duration of whole minutes (PT1M, PT5M, PT1H, P1D, …)` };
  const points = Math.ceil((span.to.getTime() - span.from.getTime()) / ms);
  if (points > MAX_POINTS) return { parameter: "interval", detail: `${text} over this timespan is ${points} points; at most ${MAX_POINTS} per series` };
  return { grainMs: ms, label: text.trim().toUpperCase() };
}

export function parseAggregations(text: string | undefined, primary: Aggregation): Aggregation[] | QueryProblem {
  if (!text?.trim()) return [primary];
  const out: Aggregation[] = [];
  for (const part of text.split(",")) {
    const a = AGGREGATIONS.find((x) => x.toLowerCase() === part.trim().toLowerCase());
    if (!a) return { parameter: "aggregation", detail: `'${part.trim()}' is not one of ${AGGREGATIONS.join(", ")}` };
    if (!out.includes(a)) out.push(a);
  }
  return out;
}

/** Per dimension named in $filter: the values it must have (empty = '*', any value). */
export type DimensionFilter = Map<Dimension, string[]>;

export function parseFilter(text: string | undefined): DimensionFilter | QueryProblem {
  const out: DimensionFilter = new Map();
  if (!text?.trim()) return out;
  const tokens = tokenize(text);
  if (isProblem(tokens)) return tokens;
  // Parentheses only group; with one dimension per clause, "and" separates clauses and "or" alternatives.
  const flat = tokens.filter((t) => t !== "(" && t !== ")");
  let clause: { dim: Dimension; values: string[] } | undefined;
  for (let i = 0; i < flat.length; ) {
    const [name, op, value, joiner] = flat.slice(i, i + 4);
    if (op?.toLowerCase() !== "eq" || value === undefined || !value.startsWith("'")) {
      return { parameter: "$filter", detail: `expected "<dimension> eq '<value>'" at '${flat.slice(i).join(" ")}'` };
    }
    const dim = DIMENSIONS.find((d) => d.toLowerCase() === name.toLowerCase());
    if (!dim) return { parameter: "$filter", detail: `'${name}' is not a dimension; use ${DIMENSIONS.join(", ")}` };
    if (clause && clause.dim !== dim) return { parameter: "$filter", detail: `'or' may only join values of one dimension (${clause.dim}, ${dim})` };
    clause ??= { dim, values: [] };
    clause.values.push(value.slice(1, -1).replace(/''/g, "'"));
    // '*' among the alternatives means any value: the dimension only splits.
    out.set(dim, clause.values.includes("*") ? [] : [...clause.values]);
    i += 3;
    if (joiner === undefined) break;
    const j = joiner.toLowerCase();
    if (j === "and") clause = undefined;
    else if (j !== "or") return { parameter: "$filter", detail: `expected 'and' or 'or', got '${joiner}'` };
    i += 1;
    if (i >= flat.length) return { parameter: "$filter", detail: `'${joiner}' ends the filter` };
  }
  return out;
}

function tokenize(text: string): string[] | QueryProblem {
  const tokens: string[] = [];
  const re = /\s*(?:('(?:[^']|'')*')|([()])|([^\s()']+))/y;
  const end = text.trimEnd().length;
  let at = 0;
  while (at < end) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return { parameter: "$filter", detail: `cannot parse '${text.slice(at).trim()}' (unbalanced quote?)` };
    tokens.push(m[1] ?? m[2] ?? m[3]);
    at = re.lastIndex;
  }
  return tokens;
}
