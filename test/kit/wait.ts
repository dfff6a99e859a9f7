// The one way tests wait for something asynchronous: poll a probe until it yields a value or the
// time is up. Every suite (fake agents, the fake control plane, real processes, network namespaces)
// waits through this, so a timeout reads the same everywhere and the poll period is set in one place.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `intervalMs` until it returns something truthy, which it returns; throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** `until` for a condition (the fake control plane's and the process tests' argument order). */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  await until(what, cond, timeoutMs);
}
