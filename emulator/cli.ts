/**
 * `npm run emulator -- --port 8765 [--idp-port 8766] [--seed file] [--admin]`: the local workspace alone, on loopback.
 * Prints one JSON line (base URL, IdP issuer, demo identities) and exits cleanly on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startLocalWorkspace, loadSeed } from "./workspace.js";
import { describeIdentities } from "./identities.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8765" },
    "idp-port": { type: "string", default: "0" },
    seed: { type: "string" },
    admin: { type: "boolean", default: false },
    "genie-step-ms": { type: "string" },
  },
});

function port(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`--${flag} must be a port number (0-65535), got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

try {
  const seed = await loadSeed(values.seed);
  const workspace = await startLocalWorkspace({
    port: port(values.port, "port"),
    idpPort: port(values["idp-port"], "idp-port"),
    seed,
    adminRoutes: values.admin,
    genieStepDelayMs: values["genie-step-ms"] ? Number(values["genie-step-ms"]) : undefined,
  });
  console.log(
    JSON.stringify({
      base_url: workspace.baseUrl,
      idp_issuer: workspace.idp.issuer,
      ...describeIdentities(seed, workspace.idp.issuer),
    }),
  );
  const stop = () => {
    void workspace.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  console.error(`local workspace failed to start: ${(err as Error).message}`);
  process.exit(1);
}
