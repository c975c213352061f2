import { Client, StreamableHTTPClientTransport, type VersionNegotiationMode } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

/** The two protocol eras a client may pin: 2026-07-28 (`server/discover`, per-request envelope) and 2025-11-25. */
export const ERAS = {
  modern: { pin: "2026-07-28" },
  legacy: "legacy",
} as const satisfies Record<string, VersionNegotiationMode>;

export type Era = keyof typeof ERAS;

/** A v2 SDK client pinned to one era, over streamable HTTP, sending `headers` (the caller's credential) every time. */
export async function connectHttpEra(era: Era, mcpUrl: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client(
    { name: `governed-mcp-test-${era}`, version: "1.0.0" },
    { versionNegotiation: { mode: ERAS[era] } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers } }));
  return client;
}

/** A v2 SDK client pinned to one era that spawns the server over stdio with the given environment. */
export async function connectStdioEra(era: Era, env: Record<string, string>): Promise<Client> {
  const client = new Client(
    { name: `governed-mcp-test-${era}`, version: "1.0.0" },
    { versionNegotiation: { mode: ERAS[era] } },
  );
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["--import", "tsx", "src/cli/main.ts", "--stdio"],
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...env },
    stderr: "pipe",
  });
  await client.connect(transport);
  return client;
}
