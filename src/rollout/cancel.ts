// A cancelled job (SIGINT, then SIGTERM 7.5 s later, then SIGKILL): what the run left is in the message.

/** The run was cancelled; what it left behind is in the message. */
export class CancelledError extends Error {
  override name = 'CancelledError'
}

/** Rejects with CancelledError(`message`) once `signal` aborts, whatever `work` is doing. */
export function untilCancelled<T>(work: Promise<T>, signal: AbortSignal | undefined, message: () => string): Promise<T> {
  if (!signal) return work
  work.catch(() => undefined)
  return new Promise<T>((resolve, reject) => {
    const cancelled = (): void => reject(new CancelledError(message()))
    if (signal.aborted) return cancelled()
    signal.addEventListener('abort', cancelled, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', cancelled))
  })
}
