import { GovernedError } from "../errors.js";

type Env = Record<string, string | undefined>;

const USAGE = [
  "usage: databricks-governed-mcp [serve] [--stdio | --http [--port N] [--host H]]",
  "       databricks-governed-mcp doctor [--json] [--caller-token <token>]",
  "       databricks-governed-mcp login    (sign in to DATABRICKS_HOST in a browser, for stdio)",
  "       databricks-governed-mcp whoami   (who the workspace says the stdio identity is)",
].join("\n");

export function usage(): string {
  return USAGE;
}

/** True for the errors node:util parseArgs throws on a command line it cannot read. */
export function isUsageError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

/** The first sentence of parseArgs' complaint ("Unknown option '--htp'."), without its advice about `--`. */
export function usageProblem(err: Error): string {
  return err.message.split(". ")[0]!.replace(/\.$/, "");
}

/**
 * One line a person can act on for a failure at start-up: the code and message of a typed error, or for a port
 * already taken, which port and the variable that moves it. Never a stack trace.
 */
export function describeStartFailure(err: unknown, env: Env): string {
  const e = err as { code?: unknown; port?: unknown; address?: unknown } | null;
  if (e?.code === "EADDRINUSE") {
    const port = typeof e.port === "number" ? e.port : undefined;
    const at = `${typeof e.address === "string" ? e.address : "127.0.0.1"}:${port ?? "?"}`;
    const variable =
      port !== undefined && String(port) === env.MCP_METRICS_PORT ? "MCP_METRICS_PORT" : "MCP_HTTP_PORT (or --port)";
    return `port ${at} is already in use; set ${variable} to a free port or stop what holds it.`;
  }
  if (e?.code === "EACCES" && typeof e.port === "number")
    return `no permission to listen on port ${e.port}; set MCP_HTTP_PORT (or --port) to a port above 1023.`;
  const file = err as { code?: unknown; syscall?: unknown; path?: unknown } | null;
  if (typeof file?.path === "string" && ["EACCES", "EPERM", "EROFS", "ENOSPC", "ENOTDIR"].includes(String(file.code)))
    return `cannot ${String(file.syscall ?? "write")} ${file.path} (${String(file.code)}); if it is the audit spool, set MCP_AUDIT_SPOOL_DIR to a writable directory.`;
  if (err instanceof GovernedError) return `[${err.code}] ${err.message}`;
  if (err instanceof Error) return err.message.split("\n")[0]!;
  return String(err);
}
