// IP literal parsing without node:net (the domain stays free of I/O modules). Addresses are kept in
// one canonical spelling so claims compare equal in the database whatever the user typed
// ("2001:DB8::0:1" and "2001:db8::1" are one DIP).

export type IpVersion = "IPv4" | "IPv6";

function parseIPv4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    // Leading zeros are refused: some stacks read them as octal.
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseIPv6(s: string): number[] | undefined {
  if (s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const group = (h: string): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    const items = h.split(":");
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (i === items.length - 1 && it.includes(".")) {
        const v4 = parseIPv4(it);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(it)) {
        out.push(parseInt(it, 16));
      } else return undefined;
    }
    return out;
  };
  const head = group(halves[0]);
  const tail = halves.length === 2 ? group(halves[1]) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  if (head.length + tail.length > 7) return undefined;
  return [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 text: lower-case, longest zero run (≥2 groups) compressed. */
function formatIPv6(g: number[]): string {
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}

export function ipVersion(s: unknown): IpVersion | undefined {
  if (typeof s !== "string") return undefined;
  if (parseIPv4(s)) return "IPv4";
  if (parseIPv6(s)) return "IPv6";
  return undefined;
}

/** Canonical spelling of an IP literal, or undefined when it is not one. */
export function canonicalIp(s: unknown): string | undefined {
  if (typeof s !== "string") return undefined;
  const v4 = parseIPv4(s);
  if (v4) return v4.join(".");
  const v6 = parseIPv6(s);
  return v6 ? formatIPv6(v6) : undefined;
}

/** "10.0.0.4:80", "[2001:db8::1]:80", "10.0.0.4:0-65535". */
export function formatEndpoint(ip: string, lo: number, hi: number = lo): string {
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return `${host}:${lo === hi ? lo : `${lo}-${hi}`}`;
}
