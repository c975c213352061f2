import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { callOrRefusal, rowsAsObjects } from "../support/results.js";
import { waitForAudit } from "../support/audit-table.js";
import { startRecordingPassThrough, type RecordingPassThrough } from "../support/recording-pass-through.js";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let stack: TestStack;
let passThrough: RecordingPassThrough;

beforeAll(async () => {
  trace.setGlobalTracerProvider(provider);
  passThrough = await startRecordingPassThrough("x-request-id");
  // The server talks to the workspace through the pass-through; nothing is sent before the first call.
  stack = await startTestStack({ overrides: { workspace: { host: passThrough.url } } });
  passThrough.target = stack.workspace.baseUrl;
});
afterAll(async () => {
  await stack?.stop();
  passThrough?.server.close();
  trace.disable();
});

describe("OpenTelemetry traces", () => {
  it("opens one span per tool call whose request id is the audit row's and the x-request-id sent to the workspace", async () => {
    const admin = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "admin"));
    try {
      exporter.reset();
      const result = await admin.callTool({ name: "query_sales_data", arguments: { limit: 5 } });
      expect(result.isError).toBeFalsy();
      const spans = exporter.getFinishedSpans().filter((s) => s.name === "tools/call query_sales_data");
      expect(spans).toHaveLength(1);
      const span = spans[0]!;
      const requestId = span.attributes["mcp.request_id"] as string;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(span.attributes["mcp.outcome"]).toBe("allowed");
      expect(span.attributes["mcp.credential.mode"]).toBe("federation");
      expect(passThrough.seen).toContain(requestId);

      // The writer batches: wait (bounded) until the row has landed, then read it back through the tool.
      await waitForAudit(stack.workspace, (r) => r.some((x) => x.request_id === requestId), 30_000);
      const audit = await admin.callTool({ name: "query_audit_log", arguments: { tool: "query_sales_data" } });
      const rows = rowsAsObjects(audit.structuredContent).filter((r) => r.request_id === requestId);
      expect(rows).toHaveLength(1);
    } finally {
      await admin.close();
    }
  });

  it("marks a refused call's span as an error carrying the stable code, and no arguments", async () => {
    const west = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
    try {
      exporter.reset();
      await callOrRefusal(west, { name: "ask_supervisor", arguments: { question: "secret plans" } });
      const span = exporter.getFinishedSpans().find((s) => s.name === "tools/call ask_supervisor")!;
      expect(span.status.code).toBe(2);
      expect(span.attributes["error.type"]).toBe("TOOL_NOT_ALLOWED");
      expect(JSON.stringify(span.attributes)).not.toContain("secret plans");
    } finally {
      await west.close();
    }
  });
});
