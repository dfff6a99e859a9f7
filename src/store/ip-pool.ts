// Public IP allocation from the configured pool (LBPLANE_PUBLIC_IP_POOL). Allocations are serialised
// by a transaction-scoped advisory lock, so two concurrent PUTs (even on two API replicas) never pick
// the same address; the unique index on public_ip_addresses.ip_address remains the backstop for a
// bring-your-own address racing an allocation.

import { parseCidr } from "../config.js";
import type { Tx } from "./prisma.js";

/** Advisory lock key for the pool ("lbplane.ip-pool" in spirit; any constant unique to lbplane). */
const IP_POOL_LOCK = 0x6c62_6970; // "lbip"

export function ipv4ToNumber(ip: string): number {
  return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** Usable host range of an IPv4 CIDR: network and broadcast addresses are skipped unless /31 or /32. */
export function poolRange(cidr: string): { first: number; last: number } {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`invalid public IP pool ${cidr}`);
  const size = 2 ** (32 - parsed.bits);
  const network = parsed.base - (parsed.base % size);
  if (size <= 2) return { first: network, last: network + size - 1 };
  return { first: network + 1, last: network + size - 2 };
}

/** First pool address no public IP holds, or undefined when the pool is exhausted. Call inside the write's transaction. */
export async function allocateFromPool(tx: Tx, cidr: string): Promise<string | undefined> {
  await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${IP_POOL_LOCK})`);
  const { first, last } = poolRange(cidr);
  const rows = await tx.publicIpAddress.findMany({
    where: { ipAddress: { not: null }, ipVersion: "IPv4" },
    select: { ipAddress: true },
  });
  const used = new Set<number>();
  for (const r of rows) {
    const n = ipv4ToNumber(r.ipAddress as string);
    if (n >= first && n <= last) used.add(n);
  }
  for (let n = first; n <= last; n++) if (!used.has(n)) return numberToIpv4(n);
  return undefined;
}
