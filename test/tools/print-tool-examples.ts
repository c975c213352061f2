/**
 * Prints docs/tools.md: each tool called once against the embedded local workspace, with the input sent and the
 * output received (structuredContent and text), exactly as an MCP client sees them.
 *
 *   npx tsx test/tools/print-tool-examples.ts > docs/tools.md
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startLocalWorkspace } from "../../emulator/workspace.js";
import { buildToolCatalog } from "../../src/mcp/tool-catalog.js";
import { ALL_TOOLS } from "../../tools/index.js";
import { DEFAULT_CATALOG_FILE, readCatalogFile } from "../../tools/catalog/load.js";

/** The resource fields of each kind, as the catalog table shows them. */
const RESOURCE_FIELDS = ["table", "space", "index", "endpoint", "function", "connection", "schema", "warehouse"];

/** One row per entry of the default catalog: name, kind, resource, roles, deadline. */
function catalogTable(): string[] {
  const { tools } = readCatalogFile(DEFAULT_CATALOG_FILE) as { tools: Record<string, unknown>[] };
  return [
    "| tool | kind | resource | roles | timeout |",
    "| --- | --- | --- | --- | --- |",
    ...tools.map((t) => {
      const field = RESOURCE_FIELDS.find((f) => typeof t[f] === "string")!;
      const resource = `${field} \`${String(t[field])}\``;
      return `| \`${String(t.name)}\` | ${String(t.kind)} | ${resource} | ${(t.roles as string[]).join(", ")} | ${Number(t.timeoutMs) / 1000} s |`;
    }),
  ];
}
import { startHttpApp } from "../support/http-app.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { callOrRefusal } from "../support/results.js";

interface Example {
  role: string;
  tool: string;
  args: Record<string, unknown>;
  why: string;
}

const EXAMPLES: Example[] = [
  {
    role: "west_sales",
    tool: "check_identity",
    args: {},
    why: "A west_sales partner checks who the workspace thinks they are.",
  },
  {
    role: "west_sales",
    tool: "query_sales_data",
    args: { group_by: "quarter", metrics: ["total_amount", "deal_count", "avg_margin_pct"], limit: 4 },
    why: "The same partner aggregates by quarter. Unity Catalog keeps only WEST rows and masks `margin_pct`, so the average margin is null.",
  },
  {
    role: "executive",
    tool: "query_sales_data",
    args: { region: "EAST", limit: 3 },
    why: "An executive lists the largest EAST deals; the mask is lifted for this role, so `margin_pct` has values.",
  },
  {
    role: "east_sales",
    tool: "genie_query",
    args: { question: "What is the total amount by region?" },
    why: "An east_sales partner asks Genie. Genie's SQL runs as the role's service principal, so only EAST comes back.",
  },
  {
    role: "managers",
    tool: "query_knowledge_base",
    args: { query: "who approves a discount above 25 percent", num_results: 2 },
    why: "A manager searches the knowledge base (hybrid search).",
  },
  {
    role: "finance",
    tool: "query_audit_log",
    args: { tool: "query_sales_data", limit: 3 },
    why: "Finance reads the audit trail with its own credential (Unity Catalog grants finance SELECT on the audit table).",
  },
  {
    role: "executive",
    tool: "ask_supervisor",
    args: { question: "What is the quarter close process?" },
    why: "An executive asks the supervisor agent, which answers from the knowledge base with its sources.",
  },
  {
    role: "west_sales",
    tool: "get_region_summary",
    args: { quarter: "2026-Q1" },
    why: "A west_sales partner calls the Unity Catalog function; its row filter applies inside it, so only WEST comes back.",
  },
  {
    role: "executive",
    tool: "github_search",
    args: { q: "databricks sdk", per_page: 2 },
    why: "An executive searches GitHub through the `github` connection; the workspace adds the connection's credential.",
  },
  {
    role: "admin",
    tool: "external_api_call",
    args: { account: "Acme Corp" },
    why: "An admin calls the partner API through the `partner_api` connection (USE CONNECTION granted to executive and admin).",
  },
  {
    role: "west_sales",
    tool: "query_audit_log",
    args: {},
    why: "A tool outside the caller's row of the RBAC matrix is the spec's unknown tool: a JSON-RPC error -32602, not a tool result, with a stable code in its message and data (and the refusal is audited).",
  },
];

const fence = (lang: string, body: string) => `\`\`\`${lang}\n${body}\n\`\`\``;

async function main(): Promise<void> {
  const workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  const { app, mcpUrl } = await startHttpApp(workspace);
  const clients = new Map<string, Client>();
  const clientFor = async (role: string) => {
    if (!clients.has(role)) clients.set(role, await connectHttp(mcpUrl, await federationBearer(workspace, role)));
    return clients.get(role)!;
  };
  const catalog = buildToolCatalog(ALL_TOOLS);
  const out: string[] = [
    "# Tools",
    "",
    "The default catalog's nine tools (`tools/default-catalog.yaml`; a catalog file of your own replaces it, see",
    "[catalog.md](catalog.md)), each called once over streamable HTTP with the MCP SDK client against the embedded local",
    "workspace, as a Federation caller of the role shown. Inputs and outputs are what the client sent and received",
    "(ids and times differ from run to run). Regenerate with `npx tsx test/tools/print-tool-examples.ts > docs/tools.md && npx prettier --write docs/tools.md`.",
    "",
    "Every result carries `_meta.request_id`, the key of the call's row in the audit table and the `request_id` query tag",
    "of every statement it caused. Errors are results with `isError: true`, a text starting with a stable code in",
    "brackets, and `_meta.error_code` (plus `_meta.retry_after_s` for `RATE_LIMITED`), so a model can correct itself;",
    "the one exception is a tool that does not exist or that the caller may not use: that is the MCP spec's unknown",
    "tool, a JSON-RPC error -32602 whose message starts with `[TOOL_NOT_ALLOWED]` and whose `data` carries",
    "`error_code` and `request_id` (over both protocol eras, HTTP and stdio).",
    "",
    "The full input and output schemas are in `tools/__toolsnaps__/` (a test fails when they change without the",
    "snapshots being updated with `UPDATE_TOOLSNAPS=1`).",
    "",
    "## The default catalog",
    "",
    "`${workspace.<key>}` is a configured value (e.g. `DATABRICKS_GENIE_SPACE_ID`); a tool whose value is unset is not offered.",
    "The roles are the Federation matrix (`MCP_RBAC` overrides it); OBO callers see every tool and Unity Catalog decides.",
    "",
    ...catalogTable(),
    "",
    "## Error codes",
    "",
    "| code | what happened | what the agent should do |",
    "| --- | --- | --- |",
    "| `TOOL_NOT_ALLOWED` | the caller's role may not use this tool | call `tools/list`; use a listed tool |",
    "| `SCOPE_MISSING` | the credential lacks a scope the tool needs (over HTTP: a 403 `insufficient_scope` answer) | sign in again granting the scope |",
    "| `ACCESS_DENIED` | Unity Catalog (or a workspace permission) refused | ask a data owner for the grant; do not retry |",
    "| `TOKEN_EXPIRED` | the workspace refused the credential | sign in again |",
    "| `EXCHANGE_POLICY_MISMATCH` | no federation policy accepts the caller's token | fix the IdP token or the policy |",
    "| `INVALID_ARGUMENT` | an argument is wrong (the message names it) | correct the argument |",
    "| `NOT_FOUND` | a conversation, table or endpoint does not exist | check the id or name |",
    "| `RATE_LIMITED` | the workspace is throttling (`_meta.retry_after_s`) | wait that long, then retry |",
    "| `UPSTREAM_UNAVAILABLE` | the workspace or this API is down | retry shortly; other tools keep working |",
    "| `WAREHOUSE_STARTING` | the SQL warehouse did not pick the statement up in time | retry in a minute |",
    "| `TIMEOUT` | the tool's deadline (`timeouts.<tool>`) passed | narrow the request, or retry |",
    "| `QUERY_FAILED` | the statement or Genie failed | rephrase or narrow the request |",
    "| `QUERY_RESULT_EXPIRED` | Genie's result expired | ask again |",
    "| `CANCELLED` | the client cancelled the call | — |",
    "",
  ];
  for (const example of EXAMPLES) {
    const client = await clientFor(example.role);
    if (example.tool === "query_audit_log") await new Promise((r) => setTimeout(r, 300)); // let the batch land
    const result = await callOrRefusal(client, { name: example.tool, arguments: example.args });
    const text = (result.content as { type: string; text?: string }[]).map((c) => c.text ?? "").join("\n");
    const listing = catalog.get(example.tool as never)!.listing;
    out.push(
      `## ${example.tool}${result.isError ? " (refused)" : ""} — as ${example.role}`,
      "",
      result.isError ? "" : `${listing.description}\n`,
      example.why,
      "",
      "Input:",
      "",
      fence("json", JSON.stringify(example.args, null, 2)),
      "",
    );
    if (result.structuredContent)
      out.push("structuredContent:", "", fence("json", JSON.stringify(result.structuredContent, null, 2)), "");
    const refusal = result.jsonRpcCode !== undefined;
    out.push(
      refusal ? `JSON-RPC error ${result.jsonRpcCode}, message:` : "Text:",
      "",
      fence("text", text),
      "",
      refusal ? "data:" : "_meta:",
      "",
      fence("json", JSON.stringify(result._meta, null, 2)),
      "",
    );
  }
  process.stdout.write(`${out.join("\n").replace(/\n{3,}/g, "\n\n")}\n`);
  for (const client of clients.values()) await client.close();
  await app.stop();
  await workspace.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
