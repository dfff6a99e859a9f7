// One budget of concurrent flows for the whole agent. Every TCP flow holds two descriptors and every
// UDP flow one, so bounding flows bounds descriptors: a connection flood is refused at the edge
// instead of exhausting the process's file table (which would also break probes and the config port).

export class ConnectionLimit {
  active = 0;
  refused = 0;

  constructor(readonly max: number) {}

  tryAcquire(): boolean {
    if (this.active >= this.max) {
      this.refused++;
      return false;
    }
    this.active++;
    return true;
  }

  release(): void {
    if (this.active > 0) this.active--;
  }
}
