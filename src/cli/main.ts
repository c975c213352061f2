/**
 * databricks-governed-mcp [--stdio | --http [--port N] [--host H]]   serve (stdio unless MCP_TRANSPORT=http)
 * databricks-governed-mcp doctor [--json] [--caller-token T]            check configuration and permissions
 * databricks-governed-mcp login                                        sign in (browser, PKCE) for stdio use
 * databricks-governed-mcp whoami                                       who the workspace says the stdio identity is
 */
import { parseArgs } from "node:util";
import { GovernedError } from "../errors.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    stdio: { type: "boolean", default: false },
    http: { type: "boolean", default: false },
    port: { type: "string" },
    host: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
    json: { type: "boolean", default: false },
    "caller-token": { type: "string" },
  },
});

const command = positionals[0] ?? "serve";

async function serve(): Promise<void> {
  const { startApp } = await import("../app.js");
  const transport = values.http ? "http" : values.stdio ? "stdio" : undefined;
  const env = { ...process.env };
  if (values.port) env.MCP_HTTP_PORT = values.port;
  if (values.host) env.MCP_HTTP_HOST = values.host;
  const app = await startApp({ env, transport });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, "shutting down");
    void app.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  if (app.config.server.transport === "stdio") process.stdin.on("end", () => stop("stdin closed"));
}

async function main(): Promise<void> {
  if (values.help) {
    console.error("usage: databricks-governed-mcp [serve] [--stdio | --http [--port N] [--host H]]");
    console.error("       databricks-governed-mcp doctor [--json] [--caller-token <token>]");
    console.error("       databricks-governed-mcp login    (sign in to DATABRICKS_HOST in a browser, for stdio)");
    console.error("       databricks-governed-mcp whoami   (who the workspace says the stdio identity is)");
    return;
  }
  switch (command) {
    case "serve":
      return serve();
    case "login": {
      const { runLogin } = await import("./login.js");
      await runLogin();
      return;
    }
    case "whoami": {
      const { runWhoami } = await import("./whoami.js");
      console.log(JSON.stringify(await runWhoami(), null, 2));
      return;
    }
    case "doctor": {
      const { doctorCommand } = await import("./doctor.js");
      process.exitCode = await doctorCommand({ json: values.json, callerToken: values["caller-token"] });
      return;
    }
    default:
      console.error(`unknown command ${JSON.stringify(command)}; try --help`);
      process.exitCode = 2;
  }
}

main().catch((err: unknown) => {
  const message =
    err instanceof GovernedError ? `[${err.code}] ${err.message}` : err instanceof Error ? err.message : String(err);
  console.error(`databricks-governed-mcp: ${message}`);
  process.exit(1);
});
