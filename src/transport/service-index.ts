import { SERVER_INFO } from "../mcp/server-description.js";

/**
 * What `GET /` answers: a person or a probe that opens the server's address learns what it is and where to go
 * (the MCP endpoint, its OAuth metadata, health, the docs) instead of a bare 404.
 */
export function serviceIndex(base: string, mcpPath: string) {
  return {
    service: SERVER_INFO.name,
    version: SERVER_INFO.version,
    description: "A governed MCP server: AI agents use Databricks data as the person or role behind each request.",
    mcp_endpoint: `${base}${mcpPath}`,
    transport: "streamable-http (POST JSON-RPC to mcp_endpoint)",
    protected_resource_metadata: `${base}/.well-known/oauth-protected-resource${mcpPath}`,
    health: `${base}/healthz`,
    readiness: `${base}/readyz`,
    docs: "README.md and docs/ in the databricks-governed-mcp package (docs/clients/ for MCP client set-up)",
  };
}
