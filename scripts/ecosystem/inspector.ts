/**
 * Drives the server with the MCP Inspector CLI (@modelcontextprotocol/inspector), a client this project did not write,
 * on both protocol eras (`--protocol-era legacy`, 2025-11-25 through initialize; `modern`, 2026-07-28 through
 * server/discover): over HTTP with Federation and OBO bearer tokens, and over stdio (embedded local workspace, and a
 * workspace given by DATABRICKS_HOST). Lists tools, calls each tool, asserts the results, and checks with `--strict`
 * that no tool schema has a portability warning. Exits 1 on the first unmet expectation.
 *
 *   npx tsx scripts/ecosystem/inspector.ts
 */
import { join } from "node:path";
import { DEFAULT_TOOL_NAMES as TOOL_NAMES } from "../../tools/index.js";
import { ROOT, log, node22, runCommand, startStack, tempDir, type Stack } from "./stack.js";

const INSPECTOR = join(ROOT, "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js");

interface ToolResult {
  isError?: boolean;
  content?: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

let passed = 0;
function expect(condition: unknown, what: string, detail?: unknown): void {
  if (!condition) {
    log(`FAIL [${era}] ${what}${detail === undefined ? "" : `\n  got: ${JSON.stringify(detail).slice(0, 800)}`}`);
    throw new Error(what);
  }
  passed += 1;
  log(`ok   [${era}] ${what}`);
}

/** `--strict` prints every schema-portability finding on stderr (and a one-line count without it): none may appear. */
function expectPortable(listed: { code: number; stderr: string }, where: string): void {
  const findings = listed.stderr.split("\n").filter((line) => /^(Warning|Error): tool |Schema portability/.test(line));
  expect(
    listed.code === 0 && findings.length === 0,
    `${where}: --strict finds no schema-portability warning in any tool's input or output schema`,
    findings.length > 0 ? findings : listed.stderr.slice(0, 800),
  );
}

type Era = "legacy" | "modern";
/** The era every invocation negotiates; each check runs once per era. */
let era: Era = "legacy";

/** One Inspector CLI invocation (the target last: a stdio command follows `--`); returns its parsed JSON output. */
async function inspector(
  target: string[],
  method: string,
  extra: string[] = [],
): Promise<{ code: number; json: unknown; stderr: string }> {
  const { code, stdout, stderr } = await runCommand(
    node22(),
    // A stdio server on the embedded local workspace may take longer than the default 15 s to start on a busy runner.
    [INSPECTOR, "--cli", "--method", method, "--protocol-era", era, "--connect-timeout", "60000", ...extra, ...target],
    {
      env: { PATH: process.env.PATH, HOME: tempDir("inspector-home-") },
      timeoutMs: 90_000,
    },
  );
  try {
    return { code, json: JSON.parse(stdout), stderr };
  } catch {
    return { code, json: { raw: stdout.slice(0, 2000), stderr: stderr.slice(0, 2000) }, stderr };
  }
}

function overHttp(mcpUrl: string, token?: string): string[] {
  return [mcpUrl, "--transport", "http", ...(token ? ["--header", `Authorization: Bearer ${token}`] : [])];
}

async function callTool(target: string[], name: string, args: Record<string, unknown>): Promise<ToolResult> {
  const { json } = await inspector(target, "tools/call", [
    "--tool-name",
    name,
    "--tool-args-json",
    JSON.stringify(args),
  ]);
  return json as ToolResult;
}

const toolNames = (json: unknown): string[] =>
  (((json as { tools?: { name: string }[] })?.tools ?? []) as { name: string }[]).map((t) => t.name).sort();

async function overHttpAsFederationAndObo(stack: Stack): Promise<void> {
  const { mcpUrl } = await stack.startServer();
  const { workspace } = stack;
  const admin = await workspace.idp.mintToken({ sub: "ada.admin", email: "ada.admin@example.com", role: "admin" });
  const west = await workspace.idp.mintToken({
    sub: "wendy.west",
    email: "wendy.west@example.com",
    role: "west_sales",
  });
  const obo = (await workspace.tokens.issue("olivia.obo@example.com", ["all-apis"], 3600)).access_token;

  // Without a header the server answers 401 with RFC 9728 metadata; the Inspector would start an OAuth login.
  const anonymous = await inspector(overHttp(mcpUrl), "tools/list", ["--stored-auth-only"]);
  expect(
    anonymous.code !== 0 && /auth/i.test(JSON.stringify(anonymous.json)),
    "http: no credential is refused (authorization required)",
    anonymous.json,
  );

  const adminList = await inspector(overHttp(mcpUrl, admin), "tools/list", ["--strict"]);
  expectPortable(adminList, "http federation admin");
  expect(
    JSON.stringify(toolNames(adminList.json)) === JSON.stringify([...TOOL_NAMES].sort()),
    "http federation admin: tools/list shows every tool of the catalog",
    adminList.json,
  );
  const westList = await inspector(overHttp(mcpUrl, west), "tools/list");
  expect(
    JSON.stringify(toolNames(westList.json)) ===
      JSON.stringify([
        "check_identity",
        "genie_query",
        "get_region_summary",
        "query_knowledge_base",
        "query_sales_data",
      ]),
    "http federation west_sales: tools/list shows the five tools of its role",
    westList.json,
  );

  const as = overHttp(mcpUrl, admin);
  const identity = await callTool(as, "check_identity", {});
  expect(
    !identity.isError &&
      identity.structuredContent?.mode === "federation" &&
      identity.structuredContent?.role === "admin",
    "http: check_identity reports federation mode and the admin role",
    identity,
  );
  const sales = await callTool(as, "query_sales_data", { group_by: "region", metrics: ["total_amount"] });
  expect(
    !sales.isError && Number(sales.structuredContent?.row_count) >= 2,
    "http: query_sales_data returns every region to admin",
    sales,
  );
  const genie = await callTool(as, "genie_query", { question: "What is the total amount by region?" });
  expect(
    !genie.isError && /SUM\(amount\)/i.test(String(genie.structuredContent?.sql)),
    "http: genie_query answers with its SQL",
    genie,
  );
  const kb = await callTool(as, "query_knowledge_base", { query: "who approves a discount above 25 percent" });
  const passages = (kb.structuredContent?.passages ?? []) as { doc_id: string }[];
  expect(!kb.isError && passages.length > 0, "http: query_knowledge_base returns passages", kb);
  const supervisor = await callTool(as, "ask_supervisor", { question: "How are sales in the west doing?" });
  expect(
    !supervisor.isError && String(supervisor.structuredContent?.answer ?? "").length > 0,
    "http: ask_supervisor answers",
    supervisor,
  );
  let audit: ToolResult = {};
  for (let i = 0; i < 20; i += 1) {
    audit = await callTool(as, "query_audit_log", { tool: "check_identity" });
    if (Number(audit.structuredContent?.row_count) >= 1) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(
    !audit.isError && Number(audit.structuredContent?.row_count) >= 1,
    "http: query_audit_log shows the calls just made",
    audit,
  );

  const westSales = await callTool(overHttp(mcpUrl, west), "query_sales_data", {
    group_by: "region",
    metrics: ["deal_count"],
  });
  const regions = ((westSales.structuredContent?.rows ?? []) as unknown[][]).map((r) => r[0]);
  expect(
    !westSales.isError && JSON.stringify(regions) === '["WEST"]',
    "http: west_sales sees only WEST rows (row filter)",
    westSales,
  );
  const refused = await callTool(overHttp(mcpUrl, west), "query_audit_log", {});
  // The Inspector checks tools/list before calling: a tool hidden from this caller is not even sent.
  expect(
    JSON.stringify(refused).includes("TOOL_NOT_ALLOWED") || JSON.stringify(refused).includes("tool_not_found"),
    "http: west_sales cannot call query_audit_log (hidden from its tools/list, refused if sent)",
    refused,
  );

  const oboIdentity = await callTool(overHttp(mcpUrl, obo), "check_identity", {});
  expect(
    !oboIdentity.isError &&
      oboIdentity.structuredContent?.mode === "obo" &&
      oboIdentity.structuredContent?.workspace_principal === "olivia.obo@example.com",
    "http obo: check_identity runs as the human's own workspace identity",
    oboIdentity,
  );
}

async function overStdio(stack: Stack): Promise<void> {
  const server = [process.execPath, "--import", "tsx", join(ROOT, "src/cli/main.ts"), "--stdio"];
  const spool = (name: string) => `MCP_AUDIT_SPOOL_DIR=${tempDir(`inspector-${name}-`)}`;
  const embedded = ["-e", "LOG_LEVEL=warn", "-e", spool("embedded"), "--cwd", ROOT, "--", ...server];
  const list = await inspector(embedded, "tools/list", ["--strict"]);
  expectPortable(list, "stdio (embedded local workspace)");
  expect(
    JSON.stringify(toolNames(list.json)) === JSON.stringify([...TOOL_NAMES].sort()),
    "stdio (embedded local workspace): tools/list shows every tool of the catalog",
    list.json,
  );

  // A developer's own token (DATABRICKS_TOKEN) against a workspace named by DATABRICKS_HOST, as an IDE would run it.
  const token = (await stack.workspace.tokens.issue("wendy.west@example.com", ["all-apis"], 3600)).access_token;
  const env = Object.entries({ ...stack.workspaceEnv(), DATABRICKS_TOKEN: token }).flatMap(([k, v]) => [
    "-e",
    `${k}=${v}`,
  ]);
  const real = ["-e", "LOG_LEVEL=warn", "-e", spool("workspace"), ...env, "--cwd", ROOT, "--", ...server];
  const identity = await callTool(real, "check_identity", {});
  expect(
    !identity.isError &&
      identity.structuredContent?.mode === "pat" &&
      identity.structuredContent?.workspace_principal === "wendy.west@example.com",
    "stdio (DATABRICKS_HOST + DATABRICKS_TOKEN): check_identity runs as the token's user",
    identity,
  );
  const sales = await callTool(real, "query_sales_data", { group_by: "region", metrics: ["deal_count"] });
  const regions = ((sales.structuredContent?.rows ?? []) as unknown[][]).map((r) => r[0]);
  // Wendy sees WEST by group and, through the owner filter, the few deals she owns elsewhere.
  expect(!sales.isError && regions.includes("WEST"), "stdio: query_sales_data answers as the user", sales);
}

const stack = await startStack();
let failed = false;
try {
  for (const next of ["legacy", "modern"] as const) {
    era = next;
    await overHttpAsFederationAndObo(stack);
    await overStdio(stack);
  }
} catch (err) {
  failed = true;
  if (!(err instanceof Error && /^(http|stdio)/.test(err.message)))
    log(`error: ${(err as Error).stack ?? String(err)}`);
} finally {
  await stack.stop();
}
log(failed ? `inspector: FAILED after ${passed} passing check(s)` : `inspector: all ${passed} checks passed`);
process.exit(failed ? 1 : 0);
