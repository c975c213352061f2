import { createHash } from "node:crypto";
import type { CallerIdentity } from "../identity/types.js";
import { perCallerMemo } from "../identity/per-caller-memo.js";

/**
 * Whose quota a call counts against: the human under Federation (issuer and subject: two IdPs may issue one `sub`),
 * the user under OBO and the local modes, the service principal under M2M. The key is a digest, so the shared store
 * holds no email or subject; a caller with none of these shares one bucket per mode (never unlimited).
 */
export function quotaCallerKey(identity: CallerIdentity): string {
  return digest(callerOf(identity));
}

/**
 * `quotaCallerKey`, remembered for the most recent `maxEntries` callers: each call asks twice (at the door and in the
 * dispatcher), a returning caller on every call.
 */
export function quotaCallerKeys(maxEntries: number): (identity: CallerIdentity) => string {
  const remembered = perCallerMemo(maxEntries, digest);
  return (identity) => remembered(callerOf(identity));
}

function callerOf(identity: CallerIdentity): string {
  const who =
    identity.mode === "federation"
      ? ["federation", identity.issuer ?? "", identity.human ?? identity.expectedPrincipal ?? ""]
      : identity.mode === "m2m"
        ? ["service-principal", identity.expectedPrincipal ?? ""]
        : ["user", identity.human ?? identity.expectedPrincipal ?? ""];
  if (who.at(-1) === "") who.push(`unknown ${identity.mode}`);
  return who.join("\n");
}

const digest = (input: string) => createHash("sha256").update(input).digest("base64url");
