import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { LocalWorkspace } from "../../emulator/workspace.js";

/** An MCP SDK client over streamable HTTP, sending `headers` (the caller's credential) on every request. */
export async function connectHttp(mcpUrl: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: "governed-mcp-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers } }));
  return client;
}

/** How a client spawns this server over stdio (either SDK's transport), with the given environment and little logging. */
export function stdioServer(env: Record<string, string>) {
  return {
    command: process.execPath,
    args: ["--import", "tsx", "src/cli/main.ts", "--stdio"],
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...env },
    stderr: "pipe" as const,
  };
}

/** An MCP SDK client that spawns the server over stdio with the given environment. */
export async function connectStdio(env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: "governed-mcp-test", version: "1.0.0" });
  const transport = new StdioClientTransport(stdioServer(env));
  await client.connect(transport);
  return client;
}

/** The demo user and IdP subject of a role in the seed. */
export function seedUserOfRole(workspace: LocalWorkspace, role: string) {
  const user = workspace.context.seed.users.find((u) => u.role === role);
  if (!user) throw new Error(`no seed user for role ${role}`);
  return user;
}

/** A Federation bearer for a role's demo user, signed by the local IdP. */
export async function federationBearer(workspace: LocalWorkspace, role: string): Promise<Record<string, string>> {
  const user = seedUserOfRole(workspace, role);
  const token = await workspace.idp.mintToken({ sub: user.idpSubject ?? user.userName, email: user.userName, role });
  return { authorization: `Bearer ${token}` };
}

/** An OBO bearer: a workspace-issued token for the user (as a browser login would have produced). */
export async function oboBearer(
  workspace: LocalWorkspace,
  userName: string,
  scopes = ["all-apis"],
): Promise<Record<string, string>> {
  const { access_token } = await workspace.tokens.issue(userName, scopes, 3600);
  return { authorization: `Bearer ${access_token}` };
}
