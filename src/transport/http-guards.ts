import type { IncomingMessage } from "node:http";
import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";

const LOOPBACK_HOSTNAMES = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  return hostHeader.split(":")[0]!.toLowerCase();
}

/** DNS-rebinding protection: the Host header must name loopback or an allowed host (with or without port). */
export function isHostAllowed(req: IncomingMessage, allowedHosts: readonly string[]): boolean {
  const host = req.headers.host;
  if (!host) return false;
  if (LOOPBACK_HOSTNAMES.has(hostnameOf(host))) return true;
  return allowedHosts.includes(host.toLowerCase()) || allowedHosts.includes(hostnameOf(host));
}

/** Browsers send Origin; a page on another origin must not drive this server. Non-browser clients send none. */
export function isOriginAllowed(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowedOrigins.includes(origin)) return true;
  try {
    return LOOPBACK_HOSTNAMES.has(new URL(origin).hostname) || LOOPBACK_HOSTNAMES.has(`[${new URL(origin).hostname}]`);
  } catch {
    return false;
  }
}

/** The 2026-era revisions the SDK's entry serves (it does not export its own list). */
const MODERN_PROTOCOL_VERSIONS = ["2026-07-28"];

/** Every MCP-Protocol-Version this server speaks, newest era first. */
export const SPOKEN_PROTOCOL_VERSIONS: readonly string[] = [
  ...MODERN_PROTOCOL_VERSIONS,
  ...SUPPORTED_PROTOCOL_VERSIONS,
];

/** Absent means the client predates the header (the spec then assumes 2025-03-26); present must be one we speak. */
export function isProtocolVersionSupported(req: IncomingMessage): boolean {
  const version = req.headers["mcp-protocol-version"];
  return version === undefined || (typeof version === "string" && SPOKEN_PROTOCOL_VERSIONS.includes(version));
}
