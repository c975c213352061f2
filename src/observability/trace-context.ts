import { AsyncLocalStorage } from "node:async_hooks";
import {
  context,
  isSpanContextValid,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  trace,
  type Context,
  type ContextManager,
  type Span,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

/** The active trace context per asynchronous flow, so a call's span is the parent of the requests it causes. */
class AsyncContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== "function") return target;
    const run = (...args: unknown[]) => this.with(ctx, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }
  /** Makes `ctx` active for the rest of the current flow (inside a scope `with` opened). */
  enter(ctx: Context): void {
    this.storage.enterWith(ctx);
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

const manager = new AsyncContextManager();
let installed = false;

/** W3C trace context in and out (`traceparent`, `tracestate`), whether or not spans are exported. Idempotent. */
export function installTraceContext(): void {
  if (installed) return;
  installed =
    context.setGlobalContextManager(manager) && propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

type Carrier = Record<string, string | string[] | undefined>;

const getter = {
  keys: (carrier: Carrier) => Object.keys(carrier),
  get: (carrier: Carrier, key: string) => carrier[key.toLowerCase()] ?? carrier[key],
};

/** What the API's proxy delegates to while no tracer provider is registered. */
const NO_PROVIDER = new ProxyTracerProvider().getDelegate();

/** True once a tracer provider is registered: spans then carry contexts of their own. */
function spansRecorded(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NO_PROVIDER;
}

/**
 * Runs `fn` in its own context scope, continuing the trace an inbound carrier (HTTP headers or `_meta`) names. With no
 * trace to continue and no provider to start one, there is nothing a scope could carry: `fn` runs as it is, which
 * keeps the context store (and its hook on every promise) off the per-call path.
 */
export function withInboundTrace<T>(carrier: Carrier | undefined, fn: () => T): T {
  const named = carrier !== undefined && getter.get(carrier, "traceparent") !== undefined;
  if (!named && context.active() === ROOT_CONTEXT && !spansRecorded()) return fn();
  const parent = carrier ? propagation.extract(context.active(), carrier, getter) : context.active();
  return context.with(parent, fn);
}

/** `_meta` of a request as a carrier: its `traceparent` and `tracestate` strings, nothing else. */
export function metaCarrier(meta: unknown): Carrier | undefined {
  if (!meta || typeof meta !== "object") return undefined;
  const { traceparent, tracestate } = meta as Record<string, unknown>;
  if (typeof traceparent !== "string") return undefined;
  return { traceparent, ...(typeof tracestate === "string" ? { tracestate } : {}) };
}

/** Makes a span the active one for the rest of this flow, so outbound requests carry it as their parent. */
export function activateSpan(span: Span): void {
  // A span with no valid context (no provider, no inbound trace) has nothing to pass on.
  if (installed && isSpanContextValid(span.spanContext())) manager.enter(trace.setSpan(context.active(), span));
}

const NO_TRACE: Record<string, string> = Object.freeze({});

/** The headers that carry the active trace to the workspace (empty when there is none). */
export function outboundTraceHeaders(): Record<string, string> {
  // Outside any trace our propagator has nothing to write: no carrier is made and the propagation API is not entered.
  if (installed && context.active() === ROOT_CONTEXT) return NO_TRACE;
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}
