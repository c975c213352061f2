import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { CallerIdentity } from "../identity/types.js";

/** Keys already computed: each call asks twice (at the door and in the dispatcher), a returning caller on every call. */
const digests = new LRUCache<string, string>({ max: 10_000 });

/**
 * Whose quota a call counts against: the human under Federation (issuer and subject: two IdPs may issue one `sub`),
 * the user under OBO and the local modes, the service principal under M2M. The key is a digest, so the shared store
 * holds no email or subject; a caller with none of these shares one bucket per mode (never unlimited).
 */
export function quotaCallerKey(identity: CallerIdentity): string {
  const who =
    identity.mode === "federation"
      ? ["federation", identity.issuer ?? "", identity.human ?? identity.expectedPrincipal ?? ""]
      : identity.mode === "m2m"
        ? ["service-principal", identity.expectedPrincipal ?? ""]
        : ["user", identity.human ?? identity.expectedPrincipal ?? ""];
  if (who.at(-1) === "") who.push(`unknown ${identity.mode}`);
  const input = who.join("\n");
  let key = digests.get(input);
  if (key === undefined) {
    key = createHash("sha256").update(input).digest("base64url");
    digests.set(input, key);
  }
  return key;
}
