import {
  classifyInboundRequest,
  PROTOCOL_VERSION_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  type InboundClassificationOutcome,
} from "@modelcontextprotocol/server";
import { isPlainObject } from "../mcp/malformed-calls.js";

/** The versions whose header the SDK classifies as 2025-era, asked of the SDK itself once. */
const LEGACY_VERSIONS = new Set(
  SUPPORTED_PROTOCOL_VERSIONS.filter(
    (version) =>
      classifyInboundRequest({
        httpMethod: "POST",
        protocolVersionHeader: version,
        body: { jsonrpc: "2.0", id: 1, method: "ping" },
      }).kind === "legacy",
  ),
);

/** True for a protocol version of the 2025 era, as the SDK tells the eras apart. */
export const isLegacyVersion = (version: string | undefined): boolean =>
  version !== undefined && LEGACY_VERSIONS.has(version);

/**
 * The classification of the usual POST, a single 2025-era request other than `initialize` (no modern header, no
 * envelope in `_meta`), told without the SDK's schema checks over the whole body; undefined for any other POST, which
 * the SDK classifies. A body that is no valid JSON-RPC request is the legacy path's to refuse either way.
 */
export function plainlyLegacy(
  versionHeader: string | undefined,
  body: unknown,
): InboundClassificationOutcome | undefined {
  // Compared exactly as sent: a header the SDK would first strip of spaces is left to the SDK.
  if (versionHeader !== undefined && !LEGACY_VERSIONS.has(versionHeader)) return undefined;
  if (!isPlainObject(body) || typeof body.method !== "string" || body.method === "initialize" || !("id" in body))
    return undefined;
  if ("result" in body || "error" in body) return undefined;
  const meta = isPlainObject(body.params) ? body.params._meta : undefined;
  if (isPlainObject(meta) && PROTOCOL_VERSION_META_KEY in meta) return undefined;
  return {
    kind: "legacy",
    reason: "no-claim",
    ...(versionHeader !== undefined ? { requestedVersion: versionHeader } : {}),
  };
}
