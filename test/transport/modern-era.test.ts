import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer, oboBearer } from "../support/mcp-clients.js";
import { waitForAudit } from "../support/audit-table.js";

let stack: TestStack;
let west: Record<string, string>;
beforeAll(async () => {
  stack = await startTestStack();
  west = await federationBearer(stack.workspace, "west_sales");
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "raw-modern", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

/** A 2026-07-28 request on the wire: the envelope in _meta, the version and method (and tool) in headers. */
function modern(
  method: string,
  params: Record<string, unknown>,
  headers: Record<string, string>,
  id: number | string = 1,
): Promise<Response> {
  const body = { jsonrpc: "2.0", id, method, params: { ...params, _meta: { ...ENVELOPE, ...(params._meta ?? {}) } } };
  return fetch(stack.mcpUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": method,
      ...(typeof params.name === "string" ? { "mcp-name": params.name } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

describe("2026-07-28 over streamable HTTP", () => {
  it("answers server/discover with the modern revision it serves and its capabilities", async () => {
    const res = await modern("server/discover", {}, west);
    expect(res.status).toBe(200);
    const { result } = (await res.json()) as { result: { supportedVersions: string[]; capabilities: object } };
    expect(result.supportedVersions).toContain("2026-07-28");
    expect(result.capabilities).toMatchObject({ tools: {} });
  });

  it("asks a caller without a credential to sign in (401) before it learns anything, discovery included", async () => {
    const res = await modern("server/discover", {}, {});
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("resource_metadata=");
  });

  it("marks tools/list private to the caller: the list differs per caller, so no shared cache may keep it", async () => {
    const res = await modern("tools/list", {}, west);
    const { result } = (await res.json()) as { result: { tools: { name: string }[]; cacheScope: string } };
    expect(result.cacheScope).toBe("private");
    expect(result.tools.map((t) => t.name)).not.toContain("ask_supervisor");
  });

  it("serves a request that sets its own log level in _meta", async () => {
    const res = await modern("tools/list", { _meta: { "io.modelcontextprotocol/logLevel": "debug" } }, west);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { result?: unknown }).result).toBeDefined();
  });

  it.each([
    ["an Mcp-Name naming another tool than the body", { "mcp-name": "query_audit_log" }],
    ["an Mcp-Method naming another method than the body", { "mcp-method": "tools/list" }],
  ])("refuses %s before any tool runs, and audits the refusal as denied", async (_case, headers) => {
    const res = await modern("tools/call", { name: "check_identity", arguments: {} }, { ...west, ...headers });
    expect(res.status).toBe(400);
    const { error, id: answered } = (await res.json()) as {
      error: { code: number; data: { request_id: string } };
      id: unknown;
    };
    expect(error.code).toBe(-32020);
    // The refusal answers the request it refuses, by its id.
    expect(answered).toBe(1);
    const id = error.data.request_id;
    const rows = await waitForAudit(stack.workspace, (all) => all.some((r) => r.request_id === id));
    expect(rows.filter((r) => r.request_id === id)).toEqual([
      expect.objectContaining({ tool: "check_identity", outcome: "denied", role: "west_sales" }),
    ]);
    expect(rows.some((r) => r.tool === "check_identity" && r.outcome === "allowed" && r.request_id === id)).toBe(false);
  });

  it("answers a token lacking the tool's scope with 403 insufficient_scope naming the scope, audited", async () => {
    const headers = await oboBearer(stack.workspace, "olivia.obo@example.com", ["dashboards.genie"]);
    const res = await modern("tools/call", { name: "check_identity", arguments: {} }, headers);
    expect(res.status).toBe(403);
    const challenge = res.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="sql"');
    const { error } = (await res.json()) as { error: { data: { request_id: string } } };
    const id = error.data.request_id;
    const rows = await waitForAudit(stack.workspace, (all) => all.some((r) => r.request_id === id));
    expect(rows.find((r) => r.request_id === id)).toMatchObject({ outcome: "denied", error_code: "SCOPE_MISSING" });
  });

  it("refuses a body over the size limit with 413 before reading further", async () => {
    const res = await modern("tools/call", { name: "check_identity", arguments: { pad: "x".repeat(2_000_000) } }, west);
    expect(res.status).toBe(413);
  });

  it("refuses a malformed tools/call with -32602 saying what to change, and audits it", async () => {
    const res = await modern("tools/call", { name: "check_identity", arguments: "not an object" }, west);
    const { error } = (await res.json()) as { error: { code: number; message: string; data: { request_id: string } } };
    expect(error.code).toBe(-32602);
    const id = error.data.request_id;
    const rows = await waitForAudit(stack.workspace, (all) => all.some((r) => r.request_id === id));
    expect(rows.find((r) => r.request_id === id)).toMatchObject({ outcome: "denied", error_code: "INVALID_ARGUMENT" });
  });
});
