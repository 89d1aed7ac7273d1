/**
 * Turns a push-style parser (it fills a list of records as input is fed to it) into the pull-style
 * batches every reader returns: yield what is ready, feed more input when nothing is, stop at the end.
 */
export async function* pullBatches<T>(take: () => T[], isDone: () => boolean, feed: () => Promise<unknown>): AsyncGenerator<T[]> {
  for (;;) {
    const ready = take();
    if (ready.length > 0) yield ready;
    if (isDone()) {
      const rest = take();
      if (rest.length > 0) yield rest;
      return;
    }
    await feed();
  }
}
