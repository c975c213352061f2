/** What the server says about itself at `initialize`: fixed, so that stdio can answer before the rest has started. */
export const SERVER_INFO = { name: "databricks-governed-mcp", version: "0.1.0" } as const;

export const CAPABILITIES = { tools: { listChanged: false }, logging: {} };

export const INSTRUCTIONS =
  "Governed access to Databricks data as the caller. Unity Catalog decides which rows and columns come back; " +
  "tools/list shows only the tools this caller may use. Call check_identity to see who the workspace thinks you are.";
