// Network RP etags are weak validators around a GUID (W/"<guid>"); a new one marks every change.

import { randomUUID } from "node:crypto";

export function newEtag(): string {
  return `W/"${randomUUID()}"`;
}
