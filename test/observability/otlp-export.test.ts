import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trace } from "@opentelemetry/api";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { startRecordingPassThrough, type RecordingPassThrough } from "../support/recording-pass-through.js";
import { otlpTracesEndpoint, parseOtlpHeaders } from "../../src/observability/otlp-export.js";

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const bodyOf = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};

/** A local OTLP/HTTP receiver: keeps each export request's path, headers and JSON body. */
async function startOtlpReceiver() {
  const exports: { path: string; headers: IncomingMessage["headers"]; body: string }[] = [];
  const server = createServer((req, res) => {
    void bodyOf(req).then((body) => {
      exports.push({ path: req.url ?? "", headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return { url: await listen(server), exports, server };
}

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const INBOUND = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let recorder: RecordingPassThrough;
let stack: TestStack;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  recorder = await startRecordingPassThrough("traceparent");
  stack = await startTestStack({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: "x-otlp-key=k1" },
    overrides: { workspace: { host: recorder.url } },
  });
  recorder.target = stack.workspace.baseUrl;
});
afterAll(async () => {
  await stack?.stop();
  receiver?.server.close();
  recorder?.server.close();
  trace.disable();
});

describe("OTLP trace export and W3C trace context", () => {
  it("reads the standard OTEL_* variables", () => {
    expect(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/" })).toBe("http://c:4318/v1/traces");
    expect(
      otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c/t", OTEL_EXPORTER_OTLP_ENDPOINT: "x" }),
    ).toBe("http://c/t");
    expect(
      otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c", OTEL_TRACES_EXPORTER: "none" }),
    ).toBeUndefined();
    expect(otlpTracesEndpoint({})).toBeUndefined();
    expect(parseOtlpHeaders("a=1, b=x%3Dy")).toEqual({ a: "1", b: "x=y" });
  });

  it("continues an inbound traceparent header, passes it to the workspace, and exports the call's span over OTLP", async () => {
    const headers = { ...(await federationBearer(stack.workspace, "admin")), traceparent: INBOUND };
    const client = await connectHttp(stack.mcpUrl, headers);
    try {
      recorder.seen.length = 0;
      const result = await client.callTool({ name: "query_sales_data", arguments: { limit: 3 } });
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    // The workspace saw the caller's trace, with the tool call's span as the parent.
    expect(recorder.seen.length).toBeGreaterThan(0);
    for (const header of recorder.seen) expect(header).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(recorder.seen[0]).not.toBe(INBOUND);

    await stack.app.traces!.flush();
    const sent = receiver.exports.filter((e) => e.path === "/v1/traces");
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]!.headers["x-otlp-key"]).toBe("k1");
    const body = sent.map((e) => e.body).join("\n");
    expect(body).toContain("tools/call query_sales_data");
    expect(body).toContain('"databricks-governed-mcp"');
  });

  it("continues a traceparent the client puts in the request's _meta", async () => {
    const client = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "admin"));
    const other = "0af7651916cd43dd8448eb211c80319c";
    try {
      recorder.seen.length = 0;
      await client.callTool({
        name: "query_sales_data",
        arguments: { limit: 1 },
        _meta: { traceparent: `00-${other}-b7ad6b7169203331-01` },
      });
    } finally {
      await client.close();
    }
    expect(recorder.seen.some((h) => h.startsWith(`00-${other}-`))).toBe(true);
  });
});
