// Requests that arrive together share one statement. A statement's cost is mostly not PostgreSQL's
// work but the round trip around it — a socket write and a wake-up on each side, measured at about
// half of lbplane's CPU per request — so N heartbeats or N reads written as one `unnest(...)`
// statement cost about one round trip instead of N. By default a batch leaves at the end of the turn
// of the event loop it was started in (setImmediate runs after the I/O callbacks that queued its
// items): no added latency, and batches grow with the load. Traffic that arrives spread out (a
// fleet's heartbeats, one every few hundred microseconds) shares nothing that way; `lingerMs` lets
// such a batch wait that long for company. While `maxInFlight` batches are out, whatever arrives
// meanwhile forms the next one.

export interface CoalescerOptions {
  /** Items per statement at most (parameter arrays stay a sane size). */
  maxBatch: number;
  /** Statements out at once; more items queue for the next batch. */
  maxInFlight: number;
  /** How long a batch waits for more items before it leaves (0 = end of this turn). */
  lingerMs?: number;
}

interface Waiting<In, Out> {
  input: In;
  done: (out: Out) => void;
  fail: (err: Error) => void;
}

export class Coalescer<In, Out> {
  private queue: Array<Waiting<In, Out>> = [];
  private inFlight = 0;
  private scheduled = false;

  /** `run` answers every input of a batch, in input order; a throw fails the whole batch. */
  constructor(
    private readonly run: (inputs: In[]) => Promise<Out[]>,
    private readonly options: CoalescerOptions,
  ) {}

  add(input: In): Promise<Out> {
    return new Promise((done, fail) => {
      this.queue.push({ input, done, fail });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    const leave = () => {
      this.scheduled = false;
      this.sendBatches();
    };
    if (this.options.lingerMs) setTimeout(leave, this.options.lingerMs);
    else setImmediate(leave);
  }

  private sendBatches(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        // What queued while this batch was out leaves as any batch does (after the linger, if
        // any): leaving at once would turn a steady trickle back into one statement per item.
        this.schedule();
      });
    }
  }

  private async send(batch: Array<Waiting<In, Out>>): Promise<void> {
    try {
      const outs = await this.run(batch.map((w) => w.input));
      batch.forEach((w, i) => w.done(outs[i] as Out));
    } catch (err) {
      for (const w of batch) w.fail(err as Error);
    }
  }
}
