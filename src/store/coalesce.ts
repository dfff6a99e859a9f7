// Requests that arrive together share one statement. On this hardware a statement's cost is mostly
// not PostgreSQL's work but the round trip around it — a socket write and a wake-up on each side —
// so N heartbeats or N reads of one turn of the event loop written as one `unnest(...)` statement
// cost about one round trip instead of N. Nothing waits for a timer: a batch leaves at the end of
// the turn it was started in (setImmediate runs after the I/O callbacks that queued its items), and
// while `maxInFlight` batches are out, whatever arrives meanwhile forms the next one. Under light
// load a batch is one item and the latency is a plain statement's; under heavy load batches grow
// and the statement count per second stays flat.

export interface CoalescerOptions {
  /** Items per statement at most (parameter arrays stay a sane size). */
  maxBatch: number;
  /** Statements out at once; more items queue for the next batch. */
  maxInFlight: number;
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
    setImmediate(() => {
      this.scheduled = false;
      this.sendBatches();
    });
  }

  private sendBatches(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        // What queued while this batch was out leaves at once: it has waited a round trip already.
        this.sendBatches();
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
