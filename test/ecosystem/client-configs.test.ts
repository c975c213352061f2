import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { DEFAULT_TOOL_NAMES as TOOL_NAMES } from "../../tools/index.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { operatorEnvironment } from "../support/workspace-env.js";

const ROOT = resolve(import.meta.dirname, "../..");
const PLACEHOLDER_ROOT = "/path/to/databricks-governed-mcp";

const Env = z.record(z.string(), z.string());
const Stdio = z.object({ command: z.string(), args: z.array(z.string()), env: Env.optional() }).strict();
const Remote = z.object({ url: z.string(), headers: z.record(z.string(), z.string()) }).strict();
/** Claude Code's `.mcp.json` (mcp.json.example has the same shape): `type` names the transport. */
const ClaudeCodeConfig = z
  .object({
    mcpServers: z.record(
      z.string(),
      z.union([
        Stdio.extend({ type: z.literal("stdio") }).strict(),
        Remote.extend({ type: z.literal("http") }).strict(),
      ]),
    ),
  })
  .strict();

/** Each client's file shape, as that client documents it. */
const CLIENTS = {
  // claude_desktop_config.json: stdio servers only, command/args/env.
  "docs/clients/claude-desktop.json": z.object({ mcpServers: z.record(z.string(), Stdio) }).strict(),
  // Claude Code .mcp.json: `type` names the transport; ${VAR} and ${VAR:-default} expand.
  "docs/clients/claude-code.mcp.json": ClaudeCodeConfig,
  "mcp.json.example": ClaudeCodeConfig,
  // Cursor mcp.json: command for stdio, url (+ headers) for remote; ${env:NAME} expands.
  "docs/clients/cursor.mcp.json": z.object({ mcpServers: z.record(z.string(), z.union([Stdio, Remote])) }).strict(),
  // VS Code .vscode/mcp.json: `servers` with type stdio/http, secrets from `inputs` as ${input:id}.
  "docs/clients/vscode.mcp.json": z
    .object({
      inputs: z.array(
        z
          .object({
            type: z.literal("promptString"),
            id: z.string(),
            description: z.string(),
            password: z.boolean().optional(),
          })
          .strict(),
      ),
      servers: z.record(
        z.string(),
        z.union([
          Stdio.extend({ type: z.literal("stdio") }).strict(),
          Remote.extend({ type: z.literal("http") }).strict(),
        ]),
      ),
    })
    .strict(),
} as const;

type File = keyof typeof CLIENTS;
type Entry = {
  type?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  url?: string;
  headers?: Record<string, string>;
};

function entriesOf(file: File): Record<string, Entry> {
  const parsed = JSON.parse(readFileSync(join(ROOT, file), "utf8")) as {
    mcpServers?: Record<string, Entry>;
    servers?: Record<string, Entry>;
  };
  return parsed.mcpServers ?? parsed.servers ?? {};
}

/** Expands what each client expands (${VAR}, ${VAR:-default}, ${env:VAR}, ${input:id}, ${workspaceFolder}) from `values`. */
function expand(text: string, values: Record<string, string>): string {
  return text
    .replaceAll(PLACEHOLDER_ROOT, ROOT)
    .replaceAll("${workspaceFolder}", ROOT)
    .replace(/\$\{(?:env:|input:)?([\w-]+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => {
      const value = values[name] ?? fallback;
      if (value === undefined) throw new Error(`no value for ${name}`);
      return value;
    });
}

async function listToolsOverStdio(entry: Entry, values: Record<string, string>): Promise<string[]> {
  const env = Object.fromEntries(Object.entries(entry.env ?? {}).map(([k, v]) => [k, expand(v, values)]));
  const client = new Client({ name: "client-config-check", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: entry.command === "node" ? process.execPath : entry.command!,
      args: entry.args!.map((a) => expand(a, values)),
      env: { PATH: process.env.PATH ?? "", ...env, MCP_AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), "client-config-")) },
      stderr: "pipe",
    }),
  );
  try {
    return (await client.listTools()).tools.map((t) => t.name).sort();
  } finally {
    await client.close();
  }
}

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("client configuration examples", () => {
  it.each(Object.keys(CLIENTS) as File[])("%s is valid JSON in its client's documented shape", (file) => {
    const raw: unknown = JSON.parse(readFileSync(join(ROOT, file), "utf8"));
    const result = CLIENTS[file].safeParse(raw);
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
    const text = JSON.stringify(raw);
    // Secrets are referenced, never written: no token-like literal in any example.
    expect(text).not.toMatch(/dapi[0-9a-f]{8}|eyJ[\w-]{10,}/);
    // A developer's own token is enough over stdio: no service principal secret in files people commit.
    expect(text).not.toMatch(/CLIENT_SECRET|CLIENT_ID/);
  });

  it("every VS Code ${input:…} reference names a declared input", () => {
    const raw = JSON.parse(readFileSync(join(ROOT, "docs/clients/vscode.mcp.json"), "utf8")) as {
      inputs: { id: string }[];
    };
    const declared = new Set(raw.inputs.map((i) => i.id));
    const used = [...JSON.stringify(raw).matchAll(/\$\{input:([\w-]+)\}/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(0);
    for (const id of used) expect(declared.has(id), id).toBe(true);
  });

  it("every HTTP entry carries the caller's bearer token in the Authorization header and reaches the server", async () => {
    const token = (await federationBearer(stack.workspace, "admin")).authorization!.slice("Bearer ".length);
    const values = { DATABRICKS_MCP_TOKEN: token, "databricks-mcp-token": token, DATABRICKS_MCP_URL: stack.mcpUrl };
    let checked = 0;
    for (const file of Object.keys(CLIENTS) as File[]) {
      for (const [name, entry] of Object.entries(entriesOf(file))) {
        if (!entry.url) continue;
        const headers = Object.fromEntries(Object.entries(entry.headers!).map(([k, v]) => [k, expand(v, values)]));
        expect(Object.keys(headers), `${file} ${name}`).toEqual(["Authorization"]);
        const client = await connectHttp(stack.mcpUrl, headers);
        const tools = (await client.listTools()).tools.map((t) => t.name).sort();
        await client.close();
        expect(tools, `${file} ${name}`).toEqual([...TOOL_NAMES].sort());
        checked += 1;
      }
    }
    expect(checked).toBe(4);
  });

  it("the stdio entry for the local workspace starts and lists every tool of the default catalog", async () => {
    // All four files use the same local entry; launch it once (each launch starts an embedded local workspace).
    const locals = (Object.keys(CLIENTS) as File[]).map((file) => entriesOf(file)["databricks-local"]!);
    const signature = (e: Entry) =>
      JSON.stringify([
        e.command,
        e.args?.map((a) => expand(a, {})),
        Object.entries(e.env ?? {}).map(([k, v]) => [k, expand(v, {})]),
      ]);
    const distinct = new Map(locals.map((e) => [signature(e), e]));
    expect(distinct.size).toBe(1);
    for (const entry of distinct.values()) expect(await listToolsOverStdio(entry, {})).toEqual([...TOOL_NAMES].sort());
  });

  it("the stdio entry for a real workspace runs as DATABRICKS_TOKEN's user against DATABRICKS_HOST, with no service principal", async () => {
    const { access_token } = await stack.workspace.tokens.issue("wendy.west@example.com", ["all-apis"], 3600);
    const values = {
      ...operatorEnvironment(stack.workspace),
      DATABRICKS_TOKEN: access_token,
    };
    const entry = entriesOf("docs/clients/claude-code.mcp.json")["databricks-workspace"]!;
    expect(await listToolsOverStdio(entry, values)).toEqual([...TOOL_NAMES].sort());
  });
});
