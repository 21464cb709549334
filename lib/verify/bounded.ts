/**
 * At most `limit` tasks running at once, the rest started in the order they were handed in as
 * earlier ones settle: a thousand identities must not open a thousand TLS connections at the same
 * moment on a small machine (nor ask the server to accept them all at once).
 */
export function bounded(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: Array<() => void> = [];
  const next = (): void => {
    running -= 1;
    queue.shift()?.();
  };
  return <T>(task: () => Promise<T>): Promise<T> => new Promise<T>((resolve, reject) => {
    const start = (): void => {
      running += 1;
      void Promise.resolve().then(task).then(resolve, reject).finally(next);
    };
    if (running < limit) start();
    else queue.push(start);
  });
}
