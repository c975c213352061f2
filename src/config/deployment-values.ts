import { ConfigError } from "./load.js";

type Env = Record<string, string | undefined>;
type Json = Record<string, unknown>;

/** The variables this server (and the platforms it runs on) reads; only their values are checked for placeholders. */
const READ_PREFIXES = /^(MCP_|DATABRICKS_|OTEL_|LOG_)/;
/** `<app-name>`-style placeholders of deploy/app.yaml and the docs, and `${VAR}` a client left unexpanded. */
const ANGLE = /<[A-Za-z][\w .-]*>/;
const UNEXPANDED = /\$\{[A-Za-z_]\w*\}/;

/**
 * Refuses a value still holding a placeholder: an unedited `MCP_PUBLIC_URL: https://<app-name>-…` would otherwise be
 * accepted and every request then refused; a literal `${DATABRICKS_CLIENT_ID}` would fail as bad credentials.
 */
export function assertNoPlaceholders(env: Env): void {
  for (const [name, value] of Object.entries(env)) {
    if (!value || !READ_PREFIXES.test(name)) continue;
    const angle = ANGLE.exec(value);
    if (angle)
      throw new ConfigError(
        `${name} still holds the placeholder ${angle[0]}: replace it with the real value (deploy/app.yaml, your environment file).`,
      );
    const unexpanded = UNEXPANDED.exec(value);
    if (unexpanded)
      throw new ConfigError(
        `${name} holds ${unexpanded[0]} unexpanded: the MCP client did not substitute it; write the value, or set it in the environment the client starts the server with.`,
      );
  }
}

/** The public URL's host is where clients reach this server: it is allowed in Host without being listed again. */
export function withPublicUrlHost(raw: Json): Json {
  const server = raw.server as Json | undefined;
  if (typeof server?.publicUrl !== "string") return raw;
  let host: string;
  try {
    host = new URL(server.publicUrl).host.toLowerCase();
  } catch {
    return raw;
  }
  const listed = Array.isArray(server.allowedHosts) ? (server.allowedHosts as string[]) : [];
  if (listed.includes(host)) return raw;
  return { ...raw, server: { ...server, allowedHosts: [...listed, host] } };
}
