import { Client, StreamableHTTPClientTransport, type VersionNegotiationMode } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { stdioServer } from "./mcp-clients.js";

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
  await client.connect(new StdioClientTransport(stdioServer(env)));
  return client;
}
