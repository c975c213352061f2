import pino, { type Logger } from "pino";

/** Paths that may hold a credential; pino replaces them before a line is written. */
export const REDACTED_PATHS = [
  "token",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "clientSecret",
  "client_secret",
  "subjectToken",
  "subject_token",
  "code",
  "code_verifier",
  "assertion",
  "password",
  "handleSecret",
  "metricsToken",
  "authorization",
  "headers.authorization",
  'headers["x-forwarded-access-token"]',
  "*.token",
  "*.accessToken",
  "*.access_token",
  "*.refresh_token",
  "*.clientSecret",
  "*.client_secret",
  "*.subject_token",
  "*.authorization",
  "*.handleSecret",
  "*.metricsToken",
  'req.headers["x-forwarded-access-token"]',
  "req.headers.authorization",
];

/** Structured logs, one event per line, to stderr (stdout belongs to the stdio transport). */
export function createLogger(
  level: string,
  format: "json" | "pretty" = "json",
  // Colour codes only where a person reads them: a terminal, never a file or a pipe.
  colour: boolean = Boolean(process.stderr.isTTY),
): Logger {
  const options = {
    level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    base: { service: "databricks-governed-mcp" },
  };
  if (format === "pretty") {
    return pino(options, pino.transport({ target: "pino-pretty", options: { destination: 2, colorize: colour } }));
  }
  return pino(options, pino.destination({ dest: 2, sync: false }));
}
