import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { ToolName } from "../../src/config/schema.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { textOf } from "../support/results.js";

/** Hostile values: SQL quoting and comments, statement separators, parameter markers, unicode tricks, NUL, size. */
const CORPUS: Record<string, string> = {
  "single-quote tautology": "' OR '1'='1",
  "statement separator and comment": "Acme'; DROP TABLE main.sales.deals; --",
  "block comment": "Acme /* */ UNION SELECT * FROM main.governance.mcp_audit",
  "double-quoted identifier break": '") OR 1=1 --',
  "named parameter marker": ":region OR :row_limit",
  "positional parameter marker": "$1) OR ($2",
  "backslash escape": "Acme\\'; SELECT 1; --",
  "newline then statement": "Acme\n; DELETE FROM main.sales.deals",
  "LIKE wildcards": "%_%",
  "RTL override": "Acme\u202E--;1=1 RO '",
  "zero-width characters": "Ac\u200Bme\u200D\uFEFF' --",
  "confusable letters": "\u0410cme \uFF07 OR \uFF071\uFF07=\uFF071",
  "emoji and astral plane": "Acme \u{1F600} \u{10FFFF}",
  "NUL byte": "Acme\u0000'; DROP TABLE x; --",
  "escape control character": "Acme\u001b[2J",
  "very long string": `'${"A".repeat(100_000)}`,
};

type Args = Record<string, unknown>;
/** One string input of one tool: clean arguments, and how a value is placed into them. */
interface Target {
  tool: ToolName;
  field: string;
  clean: Args;
  with(value: string): Args;
  /** The parameter the value must arrive in, untouched, when the statement is a fixed template of this server. */
  parameter?: string;
}

const TARGETS: Target[] = [
  {
    tool: "query_sales_data",
    field: "product",
    clean: { product: "Lakehouse Platform" },
    with: (v) => ({ product: v }),
    parameter: "product",
  },
  {
    tool: "query_sales_data",
    field: "account",
    clean: { account: "Acme Corp" },
    with: (v) => ({ account: v }),
    parameter: "account",
  },
  { tool: "query_sales_data", field: "quarter", clean: { quarter: "2026-Q1" }, with: (v) => ({ quarter: v }) },
  { tool: "query_sales_data", field: "from_date", clean: { from_date: "2026-01-01" }, with: (v) => ({ from_date: v }) },
  { tool: "query_sales_data", field: "to_date", clean: { to_date: "2026-03-31" }, with: (v) => ({ to_date: v }) },
  { tool: "query_sales_data", field: "region", clean: { region: "WEST" }, with: (v) => ({ region: v }) },
  {
    tool: "query_audit_log",
    field: "user",
    clean: { user: "ada.admin@example.com" },
    with: (v) => ({ user: v }),
    parameter: "user",
  },
  {
    tool: "query_audit_log",
    field: "tool",
    clean: { tool: "check_identity" },
    with: (v) => ({ tool: v }),
    parameter: "tool",
  },
  {
    tool: "query_audit_log",
    field: "from_time",
    clean: { from_time: "2026-01-01T00:00:00Z" },
    with: (v) => ({ from_time: v }),
  },
  {
    tool: "query_audit_log",
    field: "to_time",
    clean: { to_time: "2030-01-01T00:00:00Z" },
    with: (v) => ({ to_time: v }),
  },
  { tool: "query_audit_log", field: "outcome", clean: { outcome: "denied" }, with: (v) => ({ outcome: v }) },
  {
    tool: "genie_query",
    field: "question",
    clean: { question: "deals for account Acme Corp" },
    with: (v) => ({ question: `deals for account ${v}` }),
  },
  { tool: "query_knowledge_base", field: "query", clean: { query: "discount approval" }, with: (v) => ({ query: v }) },
  {
    tool: "query_knowledge_base",
    field: "category",
    clean: { query: "discount", category: "policy" },
    with: (v) => ({ query: "discount", category: v }),
  },
  {
    tool: "query_knowledge_base",
    field: "region",
    clean: { query: "discount", region: "WEST" },
    with: (v) => ({ query: "discount", region: v }),
  },
  {
    tool: "ask_supervisor",
    field: "question",
    clean: { question: "deals for account Acme Corp" },
    with: (v) => ({ question: `deals for account ${v}` }),
  },
  {
    tool: "ask_supervisor",
    field: "history[].content",
    clean: { question: "What is the quarter close process?", history: [{ role: "user", content: "hello" }] },
    with: (v) => ({ question: "What is the quarter close process?", history: [{ role: "user", content: v }] }),
  },
];

let stack: TestStack;
let client: Client;
let serverSp: string;
beforeAll(async () => {
  stack = await startTestStack({ genieStepDelayMs: 1 });
  client = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "admin"));
  serverSp = stack.workspace.context.seed.servicePrincipals.find(
    (sp) => sp.displayName === "mcp-server-sp",
  )!.applicationId;
});
afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

type Seen = { statement: string; parameters: { name: string; value: string | null }[] };

/** Calls a tool and returns the statements the workspace received for it (the audit writer's own INSERTs left out). */
async function callAndCapture(tool: ToolName, args: Args) {
  const from = stack.workspace.counters.statements.length;
  const result = await client.callTool({ name: tool, arguments: args });
  const statements = stack.workspace.counters.statements
    .slice(from)
    .filter((s) => s.principal !== serverSp)
    .map((s) => ({ statement: s.statement, parameters: (s.parameters ?? []) as Seen["parameters"] }));
  return { result, statements };
}

describe.each(TARGETS)("injection corpus against $tool.$field", (target) => {
  let clean: Seen[];
  beforeAll(async () => {
    const { result, statements } = await callAndCapture(target.tool, target.clean);
    expect(result.isError, textOf(result)).toBeFalsy();
    clean = statements;
    if (["query_sales_data", "query_audit_log", "genie_query"].includes(target.tool))
      expect(clean.length).toBeGreaterThan(0);
  });

  it.each(Object.entries(CORPUS))(
    "%s: refused as INVALID_ARGUMENT, or the statement shape is unchanged",
    async (_label, payload) => {
      const { result, statements } = await callAndCapture(target.tool, target.with(payload));
      if (result.isError && result._meta?.error_code === "INVALID_ARGUMENT") {
        expect(statements).toEqual([]);
        expect(textOf(result)).toMatch(/^\[INVALID_ARGUMENT\] Invalid argument /);
        expect(textOf(result)).not.toContain(payload.slice(0, 200));
        return;
      }
      // Anything else: a result or a clear, non-internal error, and only statement texts the clean input produced.
      expect(result._meta?.error_code ?? "none").not.toBe("INTERNAL");
      const cleanTexts = new Set(clean.map((s) => s.statement));
      for (const s of statements) expect(cleanTexts.has(s.statement), s.statement).toBe(true);
      if (target.parameter) {
        expect(statements).toHaveLength(1);
        expect(statements[0]!.statement).toBe(clean[0]!.statement);
        expect(statements[0]!.parameters.find((p) => p.name === target.parameter)?.value).toBe(payload);
      }
    },
  );
});

describe("the corpus is hostile enough to matter", () => {
  it("every fixed-template field binds the clean value as a parameter, never in the statement text", async () => {
    for (const target of TARGETS.filter((t) => t.parameter)) {
      const { statements } = await callAndCapture(target.tool, target.clean);
      const value = target.clean[target.field] as string;
      expect(statements[0]!.statement).not.toContain(value);
      expect(statements[0]!.statement).toContain(`:${target.parameter}`);
    }
  });
});
