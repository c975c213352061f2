import { ProtocolError, ProtocolErrorCode, type CallToolResult } from "@modelcontextprotocol/server";
import { ErrorCodes } from "../errors.js";

/** A JSON-RPC error as it goes on the wire. */
export interface JsonRpcErrorBody {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

/**
 * A `tools/call` naming a tool that does not exist or that this caller may not use is, by the MCP spec, a JSON-RPC
 * "unknown tool" error (-32602), not a tool result; the dispatcher has audited it already. Every other refusal stays a
 * tool result with `isError` (undefined here), so a model can read it and correct itself.
 */
export function unknownToolError(result: CallToolResult): JsonRpcErrorBody | undefined {
  const meta = result._meta as Record<string, unknown> | undefined;
  if (!result.isError || meta?.error_code !== ErrorCodes.TOOL_NOT_ALLOWED) return undefined;
  const text = result.content.find((block) => block.type === "text")?.text ?? "Unknown tool.";
  return {
    code: ProtocolErrorCode.InvalidParams,
    message: text,
    data: { error_code: ErrorCodes.TOOL_NOT_ALLOWED, request_id: meta.request_id },
  };
}

/** The result a protocol server's handler returns, or the unknown-tool error thrown for the SDK to answer. */
export function asProtocolRefusal(result: CallToolResult): CallToolResult {
  const error = unknownToolError(result);
  if (error) throw new ProtocolError(error.code, error.message, error.data);
  return result;
}
