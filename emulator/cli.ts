/**
 * `npm run emulator -- --port 8765 [--idp-port 8766] [--seed file] [--admin] [--mcp-resource URL]...`: the local
 * workspace alone, on loopback. Each --mcp-resource (default http://127.0.0.1:3000/mcp, the server's own default) is an
 * MCP server URL the IdP issues tokens for (RFC 8707) and the federation policies accept as an audience.
 * Prints one JSON line (base URL, IdP issuer, demo identities) and exits cleanly on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startLocalWorkspace, loadSeed, type LocalWorkspace } from "./workspace.js";
import { describeIdentities } from "./identities.js";
import { trustMcpResource } from "./mcp-resource.js";

/** The server's own default endpoint (MCP_PORT 3000, path /mcp), so `npm start` beside the emulator works as is. */
const DEFAULT_MCP_RESOURCES: string[] = ["http://127.0.0.1:3000/mcp"];

const OPTIONS = {
  port: { type: "string", default: "8765" },
  "idp-port": { type: "string", default: "0" },
  seed: { type: "string" },
  admin: { type: "boolean", default: false },
  "genie-step-ms": { type: "string" },
  "max-run-time-s": { type: "string" },
  "mcp-resource": { type: "string", multiple: true, default: DEFAULT_MCP_RESOURCES },
} as const;

function parseFlags() {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}

const values = parseFlags();

function port(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`--${flag} must be a port number (0-65535), got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

/** `--max-run-time-s`: a statement's longest run, whole seconds from 1 to 172800 (Databricks' STATEMENT_TIMEOUT range). */
function maxRunTimeMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 172_800) {
    console.error(`--max-run-time-s must be whole seconds from 1 to 172800, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n * 1000;
}

// Signals are handled from the first moment: one that arrives while starting (or right after the banner) still ends
// the process cleanly. A second signal falls through to Node's default and ends it at once.
let workspace: LocalWorkspace | undefined;
let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  void (workspace?.close() ?? Promise.resolve()).then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);

try {
  const seed = await loadSeed(values.seed);
  workspace = await startLocalWorkspace({
    port: port(values.port, "port"),
    idpPort: port(values["idp-port"], "idp-port"),
    seed,
    adminRoutes: values.admin,
    genieStepDelayMs: values["genie-step-ms"] ? Number(values["genie-step-ms"]) : undefined,
    maxRunTimeMs: maxRunTimeMs(values["max-run-time-s"]),
  });
  trustMcpResource(workspace, values["mcp-resource"]);
  console.log(
    JSON.stringify({
      base_url: workspace.baseUrl,
      idp_issuer: workspace.idp.issuer,
      ...describeIdentities(seed, workspace.idp.issuer),
    }),
  );
} catch (err) {
  console.error(`local workspace failed to start: ${(err as Error).message}`);
  process.exit(1);
}
