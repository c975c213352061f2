import { ProtocolError, ProtocolErrorCode, type CallToolResult } from "@modelcontextprotocol/server";
import { ErrorCodes } from "../errors.js";

/**
 * A `tools/call` naming a tool that does not exist or that this caller may not use is, by the MCP spec, a JSON-RPC
 * "unknown tool" error (-32602), not a tool result; the dispatcher has audited it already. Every other refusal stays a
 * tool result with `isError`, so a model can read it and correct itself.
 */
export function asProtocolRefusal(result: CallToolResult): CallToolResult {
  const meta = result._meta as Record<string, unknown> | undefined;
  if (!result.isError || meta?.error_code !== ErrorCodes.TOOL_NOT_ALLOWED) return result;
  const text = result.content.find((block) => block.type === "text")?.text ?? "Unknown tool.";
  throw new ProtocolError(ProtocolErrorCode.InvalidParams, text, {
    error_code: ErrorCodes.TOOL_NOT_ALLOWED,
    request_id: meta.request_id,
  });
}
