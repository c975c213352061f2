/**
 * databricks-governed-mcp [--stdio | --http [--port N] [--host H]]   serve (stdio unless MCP_TRANSPORT=http)
 * databricks-governed-mcp doctor [--json] [--caller-token T]            check configuration and permissions
 * databricks-governed-mcp login                                        sign in (browser, PKCE) for stdio use
 * databricks-governed-mcp whoami                                       who the workspace says the stdio identity is
 */
import { parseArgs } from "node:util";
import { describeStartFailure, isUsageError, usage, usageProblem } from "./start-failure.js";

function readCommandLine() {
  try {
    return parseArgs({
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
  } catch (err) {
    if (!isUsageError(err)) throw err;
    console.error(`databricks-governed-mcp: ${usageProblem(err)}.\n${usage()}`);
    process.exit(2);
  }
}

const { values, positionals } = readCommandLine();
const command = positionals[0] ?? "serve";

async function serve(): Promise<void> {
  const transport = values.http ? "http" : values.stdio ? "stdio" : undefined;
  const env = { ...process.env };
  if (values.port) env.MCP_HTTP_PORT = values.port;
  if (values.host) env.MCP_HTTP_HOST = values.host;
  // stdio clients wait for `initialize` when they start the server: answer it before the rest has loaded.
  const early = (transport ?? env.MCP_TRANSPORT ?? "stdio") === "stdio" ? await listenEarly() : undefined;
  // A client that goes away while the server is still starting must not leave it running.
  let stdinClosed = false;
  if (early) process.stdin.once("end", () => (stdinClosed = true));
  const { startApp } = await import("../app.js");
  const app = await startApp({ env, transport, stdioTransport: early });
  if (early && app.config.server.transport !== "stdio") await early.close();
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
  if (app.config.server.transport === "stdio") {
    if (stdinClosed) stop("stdin closed");
    else process.stdin.on("end", () => stop("stdin closed"));
  }
}

async function listenEarly() {
  const [{ EarlyStdioTransport }, description] = await Promise.all([
    import("../transport/early-stdio.js"),
    import("../mcp/server-description.js"),
  ]);
  return new EarlyStdioTransport({
    serverInfo: description.SERVER_INFO,
    capabilities: description.CAPABILITIES,
    instructions: description.INSTRUCTIONS,
  }).listen();
}

async function main(): Promise<void> {
  if (values.help) {
    console.error(usage());
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
      console.error(`databricks-governed-mcp: unknown command ${JSON.stringify(command)}.\n${usage()}`);
      process.exitCode = 2;
  }
}

main().catch((err: unknown) => {
  console.error(`databricks-governed-mcp: ${describeStartFailure(err, process.env)}`);
  process.exit(1);
});
