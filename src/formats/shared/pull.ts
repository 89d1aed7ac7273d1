/**
 * Turns a push-style parser (it fills a queue of records as input is fed to it) into the
 * pull-style batches every reader returns: yield what is ready, feed more input when nothing is,
 * stop at the end.
 */

/** The records a parser produced and nobody has taken yet. */
export class BatchQueue<T> {
  private items: T[] = [];

  push(item: T): void {
    this.items.push(item);
  }

  get length(): number {
    return this.items.length;
  }

  /** The first record not yet taken, if any. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Everything queued, leaving the queue empty. */
  take(): T[] {
    const out = this.items;
    this.items = [];
    return out;
  }
}

/**
 * Feeds a push-style parser the text of `text`, a chunk at a time (`onText`; `onEnd` once, after
 * the last), until it has queued a first record or the input ended, so that input of the wrong
 * shape fails as it is opened; returns the batches that pull the rest.
 */
export async function startPulling<T>(text: AsyncIterable<string>, queue: BatchQueue<T>, onText: (chunk: string) => void, onEnd: () => void): Promise<AsyncGenerator<T[]>> {
  const chunks = text[Symbol.asyncIterator]();
  let done = false;
  const feed = async (): Promise<void> => {
    const next = await chunks.next();
    if (next.done) {
      done = true;
      onEnd();
    } else onText(next.value);
  };
  while (!done && queue.length === 0) await feed();
  return pullBatches(queue, () => done, feed);
}

async function* pullBatches<T>(queue: BatchQueue<T>, isDone: () => boolean, feed: () => Promise<unknown>): AsyncGenerator<T[]> {
  for (;;) {
    const ready = queue.take();
    if (ready.length > 0) yield ready;
    if (isDone()) {
      const rest = queue.take();
      if (rest.length > 0) yield rest;
      return;
    }
    await feed();
  }
}
