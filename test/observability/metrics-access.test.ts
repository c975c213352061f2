import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { metricsEndpoint } from "../../src/observability/metrics-endpoint.js";
import { startTestStack, type TestStack } from "../support/server.js";

const TOKEN = "scrape-token-0123456789abcdef";

/** A GET over real HTTP, with any headers (Host included, which fetch does not let a caller set). */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, text, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

const stacks: TestStack[] = [];
async function stack(env: Record<string, string>): Promise<TestStack> {
  const started = await startTestStack({ env });
  stacks.push(started);
  return started;
}
afterAll(async () => {
  await Promise.all(stacks.map((s) => s.stop()));
});

describe("/metrics on the MCP port bound to loopback", () => {
  it("answers without a credential when no token is configured (the default stays scrapable)", async () => {
    const open = await stack({});
    const res = await get(`${open.app.http!.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.text).toContain("mcp_tool_calls_total");
  });

  it("with MCP_METRICS_TOKEN, answers 401 without the bearer or with another, 200 with it", async () => {
    const guarded = await stack({ MCP_METRICS_TOKEN: TOKEN });
    const url = `${guarded.app.http!.url}/metrics`;
    const refused = [
      await get(url),
      await get(url, { authorization: `Bearer ${TOKEN}x` }),
      await get(url, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }),
      await get(url, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="metrics"');
      expect(res.text).toContain("MCP_METRICS_TOKEN");
      expect(res.text).not.toContain(TOKEN);
      expect(res.text).not.toContain("mcp_tool_calls_total");
    }
    const ok = await get(url, { authorization: `bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain("mcp_tool_calls_total");
  });
});

describe("/metrics on a listener of its own (MCP_METRICS_PORT)", () => {
  let separate: TestStack;
  beforeAll(async () => {
    separate = await stack({ MCP_METRICS_PORT: "0" });
  });

  it("is served there, on loopback by default, and the MCP port answers 404", async () => {
    const listener = separate.app.metricsListener!;
    expect(listener.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(listener.url).not.toBe(separate.app.http!.url);
    expect((await get(`${listener.url}/metrics`)).status).toBe(200);
    expect((await get(`${separate.app.http!.url}/metrics`)).status).toBe(404);
  });

  it("serves nothing else: the MCP endpoint and health checks are 404 there", async () => {
    const { url } = separate.app.metricsListener!;
    for (const path of ["/mcp", "/healthz", "/.well-known/oauth-protected-resource", "/"])
      expect((await get(`${url}${path}`)).status, path).toBe(404);
  });

  it("refuses a Host that names neither loopback, an allowed host nor an IP literal (DNS rebinding)", async () => {
    const { url } = separate.app.metricsListener!;
    const port = new URL(url).port;
    expect((await get(`${url}/metrics`, { host: `rebind.attacker.example:${port}` })).status).toBe(403);
    expect((await get(`${url}/metrics`, { host: `10.1.2.3:${port}` })).status).toBe(200);
    expect((await get(`${url}/metrics`, { host: `localhost:${port}` })).status).toBe(200);
  });

  it("asks for the bearer there too when MCP_METRICS_TOKEN is set", async () => {
    const both = await stack({ MCP_METRICS_PORT: "0", MCP_METRICS_TOKEN: TOKEN });
    const { url } = both.app.metricsListener!;
    expect((await get(`${url}/metrics`)).status).toBe(401);
    expect((await get(`${url}/metrics`, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await get(`${both.app.http!.url}/metrics`, { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
  });
});

describe("/metrics when the MCP port is bound beyond loopback with neither option set", () => {
  const base = {
    DATABRICKS_HOST: "https://example.cloud.databricks.com",
    DATABRICKS_WAREHOUSE_ID: "wh1",
    DATABRICKS_GENIE_SPACE_ID: "sp1",
    MCP_HTTP_HOST: "0.0.0.0",
  };
  const exposed = metricsEndpoint(loadConfig(base), async () => "mcp_tool_calls_total 0\n");

  it.each([
    ["a client on another host", "10.0.0.7", {}, 403],
    ["an IPv6 client on another host", "fd00::7", {}, 403],
    ["a client on this host", "127.0.0.1", {}, undefined],
    ["a client on this host over IPv6", "::1", {}, undefined],
    ["a client on this host, IPv4-mapped", "::ffff:127.0.0.1", {}, undefined],
    ["a request a local reverse proxy forwarded", "127.0.0.1", { "x-forwarded-for": "203.0.113.9" }, 403],
    ["a request with a Forwarded header", "127.0.0.1", { forwarded: "for=203.0.113.9" }, 403],
  ] as const)("%s: %s", (_, peer, headers, status) => {
    expect(exposed.refusalFor({ peer, headers })?.status).toBe(status);
  });

  it("says so once at start, naming the variables that open it", () => {
    expect(exposed.warning).toMatch(/MCP_METRICS_TOKEN.*MCP_METRICS_PORT/);
    expect(exposed.refusalFor({ peer: "10.0.0.7", headers: {} })?.message).toMatch(
      /MCP_METRICS_TOKEN or MCP_METRICS_PORT/,
    );
  });

  it("lets any client with the token read, and none without it, once MCP_METRICS_TOKEN is set", () => {
    const guarded = metricsEndpoint(loadConfig({ ...base, MCP_METRICS_TOKEN: TOKEN }), async () => "");
    expect(guarded.warning).toBeUndefined();
    expect(guarded.refusalFor({ peer: "10.0.0.7", headers: { authorization: `Bearer ${TOKEN}` } })).toBeUndefined();
    expect(guarded.refusalFor({ peer: "127.0.0.1", headers: {} })?.status).toBe(401);
  });

  it("over real HTTP: a loopback client reads, one behind a forwarding proxy is refused", async () => {
    const server: Server = createServer((req, res) => void exposed.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
      const local = await get(url);
      expect(local.status).toBe(200);
      expect(local.text).toContain("mcp_tool_calls_total");
      const proxied = await get(url, { "x-forwarded-for": "203.0.113.9" });
      expect(proxied.status).toBe(403);
      expect(proxied.text).not.toContain("mcp_tool_calls_total");
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
