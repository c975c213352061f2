import type { Config } from "../config/schema.js";
import { createM2MStrategy } from "../identity/strategies/m2m.js";
import type { WorkspaceApi } from "./workspace-api.js";
import { WorkspaceHttpClient } from "./http-client.js";
import { createWorkspaceApi } from "./workspace-api.js";

/** Start-up reads of the Unity Catalog functions API need this scope only. */
const DISCOVERY_SCOPES = ["unity-catalog"];

/**
 * The workspace as the server's own identity sees it at start-up, to describe catalog entries that describe
 * themselves (a function's parameters, a schema's functions). Built on first use; `close` ends its connections.
 */
export function startupDiscovery(config: Config): {
  getFunction: WorkspaceApi["getFunction"];
  listFunctions(catalog: string, schema: string): ReturnType<typeof listAll>;
  close(): Promise<void>;
} {
  let http: WorkspaceHttpClient | undefined;
  let api: Promise<WorkspaceApi> | undefined;
  const client = () =>
    (api ??= (async () => {
      http = new WorkspaceHttpClient(config.workspace.host!);
      const caller = await createM2MStrategy(config, DISCOVERY_SCOPES).resolve({ transport: "stdio", headers: {} });
      return createWorkspaceApi(http, caller.credential, { requestId: "catalog-discovery", queryTags: {} });
    })());
  return {
    getFunction: async (fullName) => (await client()).getFunction(fullName),
    listFunctions: async (catalog, schema) => listAll(await client(), catalog, schema),
    close: async () => {
      await http?.close();
    },
  };
}

async function listAll(api: WorkspaceApi, catalog: string, schema: string) {
  return (await api.listFunctions(catalog, schema)).functions ?? [];
}
