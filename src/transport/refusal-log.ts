import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { ResolvedCaller } from "../identity/types.js";

/**
 * One warning per refusal at the door (401, 403 and the like), so an operator sees refusals in the logs as well as in
 * the audit: the code, the status, the audit row's request id, who (when verified) and from where. Never a token:
 * only the kind of credential presented is named.
 */
export function logDoorRefusal(
  logger: Logger,
  refusal: {
    req: IncomingMessage;
    status: number;
    code: string;
    requestIds: readonly string[];
    caller?: ResolvedCaller;
  },
): void {
  const { req, status, code, requestIds, caller } = refusal;
  const presented = req.headers["x-forwarded-access-token"]
    ? "proxy-header"
    : req.headers.authorization
      ? "bearer"
      : "none";
  logger.warn(
    {
      requestId: requestIds[0],
      status,
      errorCode: code,
      credential: caller?.identity.source ?? presented,
      mode: caller?.identity.mode,
      principal: caller?.identity.expectedPrincipal,
      role: caller?.identity.role,
      source: req.socket.remoteAddress,
    },
    "request refused",
  );
}
