import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { installTraceContext, outboundTraceHeaders, withInboundTrace } from "../../src/observability/trace-context.js";
import { startToolSpan } from "../../src/observability/tracing.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const inbound = { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` };

/** The traceparent a workspace request sent from inside a tool call (opened by `startToolSpan`) would carry. */
const sentFromCall = () =>
  Promise.resolve().then(() => {
    startToolSpan("query_sales_data", "request-1");
    return outboundTraceHeaders().traceparent;
  });

beforeAll(() => installTraceContext());
afterEach(() => trace.disable());

describe("trace context in and out", () => {
  it("without a tracer provider, passes an inbound traceparent on to the workspace", async () => {
    const sent = await withInboundTrace(inbound, sentFromCall);
    expect(sent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
  });

  it("without a tracer provider, continues the request's trace in a call whose _meta names none", async () => {
    const sent = await withInboundTrace(inbound, () => withInboundTrace(undefined, sentFromCall));
    expect(sent).toContain(TRACE_ID);
  });

  it("with no trace to continue and no tracer provider, sends none and leaves no trace behind", async () => {
    expect(await withInboundTrace({}, () => withInboundTrace(undefined, sentFromCall))).toBeUndefined();
    expect(outboundTraceHeaders()).toEqual({});
  });

  it("with a tracer provider and no inbound trace, sends the call's own new trace, kept to the call", () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider());
    const sent = withInboundTrace({}, () => {
      startToolSpan("query_sales_data", "request-1");
      return outboundTraceHeaders().traceparent;
    });
    expect(sent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(outboundTraceHeaders()).toEqual({});
  });
});
