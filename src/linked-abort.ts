/** A signal that aborts when any source does, or when its own time runs out; `dispose` when the work is done. */
export interface LinkedAbort {
  signal: AbortSignal;
  /** True once the time limit, not a source, aborted the signal. */
  readonly timedOut: boolean;
  /** Stops the timer and detaches from the sources (idempotent). */
  dispose(): void;
}

/**
 * `AbortSignal.any` plus `AbortSignal.timeout` for work with a known end: plain listeners and one timer, removed by
 * `dispose`, instead of the weak references and finalizers those keep per signal (measurable on the per-call path).
 */
export function linkedAbort(sources: readonly (AbortSignal | undefined)[], timeoutMs?: number): LinkedAbort {
  const controller = new AbortController();
  const attached: { source: AbortSignal; onAbort: () => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const dispose = () => {
    clearTimeout(timer);
    for (const { source, onAbort } of attached) source.removeEventListener("abort", onAbort);
    attached.length = 0;
  };
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const onAbort = () => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener("abort", onAbort, { once: true });
    attached.push({ source, onAbort });
  }
  if (controller.signal.aborted) dispose();
  else if (timeoutMs !== undefined) {
    timer = setTimeout(
      () => {
        timedOut = true;
        dispose();
        controller.abort(new DOMException("The operation timed out.", "TimeoutError"));
      },
      Math.max(0, timeoutMs),
    );
    timer.unref();
  }
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose,
  };
}
