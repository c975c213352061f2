import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { Pool } from "undici";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { statementOfEntry } from "../tools/kinds/sql.js";
import { DEFAULT_CATALOG_FILE, readCatalogFile } from "../tools/catalog/load.js";
import { resolveReferences } from "../tools/catalog/references.js";

/** Below Node's default server keep-alive (5 s), so an idle connection is never reused just as the server closes it. */
const KEEP_ALIVE_MS = 4000;

/**
 * A minimal streamable-HTTP MCP client: one keep-alive undici Pool sending JSON-RPC POSTs, as a stateless client does
 * after `initialize`. Cheaper on the client side than the SDK client, so the server's cost is what gets measured.
 */
export class McpWireClient {
  private readonly pool: Pool;
  private readonly path: string;
  private id = 0;

  constructor(url: string, connections = 128) {
    const u = new URL(url);
    this.pool = new Pool(u.origin, { connections, keepAliveTimeout: KEEP_ALIVE_MS, pipelining: 1 });
    this.path = u.pathname;
  }

  /** Sends one JSON-RPC request and returns its `result`; a JSON-RPC error, HTTP error or tool error throws. */
  async request(method: string, params: unknown, headers: Record<string, string>): Promise<Record<string, unknown>> {
    const id = ++this.id;
    const res = await this.pool.request({
      path: this.path,
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": LATEST_PROTOCOL_VERSION,
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`MCP ${method} answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    const message = parseJsonRpc(text, res.headers["content-type"]);
    if (message.error) throw new Error(`MCP ${method} failed: ${JSON.stringify(message.error).slice(0, 200)}`);
    return message.result as Record<string, unknown>;
  }

  async callTool(name: string, args: unknown, headers: Record<string, string>): Promise<Record<string, unknown>> {
    const result = await this.request("tools/call", { name, arguments: args }, headers);
    if (result.isError) throw new Error(`${name} returned an error: ${JSON.stringify(result.content).slice(0, 300)}`);
    return result;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The response is either a JSON body or an SSE stream whose last `data:` line is the JSON-RPC response. */
function parseJsonRpc(text: string, contentType: unknown): { result?: unknown; error?: unknown } {
  if (String(contentType).startsWith("application/json")) return JSON.parse(text) as { result?: unknown };
  const data = text
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).trim());
  for (let i = data.length - 1; i >= 0; i -= 1) {
    const message = JSON.parse(data[i]!) as { id?: unknown; result?: unknown; error?: unknown };
    if (message.id !== undefined) return message;
  }
  throw new Error(`No JSON-RPC response in: ${text.slice(0, 200)}`);
}

/**
 * The arguments every overhead benchmark sends to query_sales_data: a typical narrow question (34 rows for an
 * executive). Unfiltered scans cost the local engine 100+ ms each, which would only hide the server's share.
 */
export const SALES_ARGS = { account: "Globex", quarter: "2026-Q1", limit: 100, order: "desc" } as const;

/** Sends the statement query_sales_data builds straight to the workspace's Statement Execution API (the physical limit). */
export class DirectStatementClient {
  private readonly pool: Pool;
  /** The request body: the statement query_sales_data builds, as the server's client sends it. */
  readonly statementBody: string;

  constructor(workspaceUrl: string, warehouseId: string, salesTable: string, connections = 128) {
    this.pool = new Pool(workspaceUrl, { connections, keepAliveTimeout: KEEP_ALIVE_MS, pipelining: 1 });
    const { tools } = readCatalogFile(DEFAULT_CATALOG_FILE) as { tools: { name: string }[] };
    const entry = tools.find((t) => t.name === "query_sales_data")!;
    const resolved = resolveReferences(entry, { warehouseId, salesTable }, "query_sales_data") as { value: unknown };
    const { statement, parameters } = statementOfEntry(resolved.value, SALES_ARGS);
    // Same request body as the server's client sends (tags included), so the workspace does the same work.
    this.statementBody = JSON.stringify({
      warehouse_id: warehouseId,
      statement,
      parameters,
      row_limit: SALES_ARGS.limit + 1,
      wait_timeout: "10s",
      on_wait_timeout: "CONTINUE",
      disposition: "INLINE",
      format: "JSON_ARRAY",
      query_tags: [
        { key: "request_id", value: "00000000-0000-4000-8000-000000000000" },
        { key: "tool", value: "query_sales_data" },
        { key: "human", value: "bench" },
      ],
    });
  }

  async execute(authorization: string): Promise<unknown> {
    const res = await this.pool.request({
      path: "/api/2.0/sql/statements",
      method: "POST",
      headers: { authorization, "content-type": "application/json" },
      body: this.statementBody,
    });
    const json = (await res.body.json()) as { status?: { state?: string } };
    if (res.statusCode !== 200 || json.status?.state !== "SUCCEEDED")
      throw new Error(`direct statement answered ${res.statusCode}: ${JSON.stringify(json).slice(0, 200)}`);
    return json;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * A minimal stdio MCP client: one JSON-RPC message per line on the child's stdin, answers matched by id from its
 * stdout. Like McpWireClient, cheaper on the client side than the SDK client, so the server's cost is what shows.
 */
export class StdioWireClient {
  private readonly waiting = new Map<
    number,
    { resolve: (message: { result?: unknown; error?: unknown }) => void; reject: (err: Error) => void }
  >();
  private id = 0;
  private buffered = "";
  /** The end of the child's stderr, for the error when it exits early. */
  private stderr = "";

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.on("data", (chunk: Buffer) => (this.stderr = `${this.stderr}${chunk.toString("utf8")}`.slice(-2000)));
    child.on("exit", (code) => {
      const err = new Error(`the stdio server exited with ${code}: ${this.stderr.trim()}`);
      for (const { reject } of this.waiting.values()) reject(err);
    });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      this.buffered += chunk;
      for (let end = this.buffered.indexOf("\n"); end !== -1; end = this.buffered.indexOf("\n")) {
        const line = this.buffered.slice(0, end);
        this.buffered = this.buffered.slice(end + 1);
        if (!line.trim()) continue;
        const message = JSON.parse(line) as { id?: number; result?: unknown; error?: unknown };
        if (typeof message.id === "number") this.waiting.get(message.id)?.resolve(message);
      }
    });
  }

  /** The server's process id, for its CPU time. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Spawns the server and completes the MCP handshake (initialize, then notifications/initialized). */
  static async start(command: string, args: string[], env: Record<string, string>): Promise<StdioWireClient> {
    const child = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    const client = new StdioWireClient(child);
    await client.request("initialize", {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: "governed-mcp-bench", version: "1.0.0" },
    });
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
    return client;
  }

  async request(method: string, params: unknown): Promise<Record<string, unknown>> {
    const id = ++this.id;
    const answer = new Promise<{ result?: unknown; error?: unknown }>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
    });
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    const message = await answer.finally(() => this.waiting.delete(id));
    if (message.error) throw new Error(`MCP ${method} failed: ${JSON.stringify(message.error).slice(0, 200)}`);
    return message.result as Record<string, unknown>;
  }

  async callTool(name: string, args: unknown): Promise<Record<string, unknown>> {
    const result = await this.request("tools/call", { name, arguments: args });
    if (result.isError) throw new Error(`${name} returned an error: ${JSON.stringify(result.content).slice(0, 300)}`);
    return result;
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.once("exit", resolve));
  }
}
