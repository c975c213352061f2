import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ErrorCodes, UpstreamError } from "../errors.js";
import type { CallerIdentity } from "../identity/types.js";

/** Layout of a handle: base64url(version ‖ HMAC-SHA256 ‖ Genie conversation id), unpadded. */
// Version 2 binds the Federation issuer: a version 1 handle, bound to the subject alone, is refused as malformed.
const VERSION = 2;
const MAC_BYTES = 32;
/** What a Genie conversation id looks like (32 hex characters today); nothing else is ever handed back. */
const CONVERSATION_ID = /^[\w-]{1,128}$/;
const MAX_CONVERSATION_ID_BYTES = 128;
/** Fewest bytes a handle key may have: as many as the MAC it keys, so the key is never the weaker part. */
export const MIN_HANDLE_SECRET_BYTES = 32;
/** The longest handle: version, MAC and the longest conversation id, base64url without padding. */
export const MAX_HANDLE_CHARS = Math.ceil(((1 + MAC_BYTES + MAX_CONVERSATION_ID_BYTES) * 4) / 3);

/** Who a conversation belongs to: its Genie space and the caller as verified (never anything the model supplies). */
export interface ConversationOwner {
  spaceId: string;
  identity: Pick<CallerIdentity, "mode" | "human" | "issuer" | "expectedPrincipal">;
}

/**
 * What opening a handle found: the conversation, or why not — `malformed` (not a handle of this layout) or `foreign`
 * (a well-formed handle that is not this caller's: another human's, altered, or signed with another key).
 */
export type OpenedHandle = { conversationId: string } | { refused: "malformed" | "foreign" };

/**
 * Signed conversation handles: a Genie conversation id bound to the human who started it (under Federation, issuer
 * and subject), so that nobody else can continue it, even where every human of a role is one service principal to the
 * workspace. Stateless, so any replica holding the same key opens a handle another issued.
 */
export class ConversationHandles {
  // A private field: the key never shows up when an object holding this one is serialized or logged.
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  /** Handles every replica configured with `secret` can open. */
  static withSecret(secret: string): ConversationHandles {
    const key = Buffer.from(secret, "utf8");
    if (key.length < MIN_HANDLE_SECRET_BYTES)
      throw new RangeError(`A conversation handle key needs at least ${MIN_HANDLE_SECRET_BYTES} bytes.`);
    return new ConversationHandles(key);
  }

  /** Handles only this process can open (a random key, gone on restart). */
  static ephemeral(): ConversationHandles {
    return new ConversationHandles(randomBytes(MAC_BYTES));
  }

  /** The handle a caller gets for a conversation it started or continued. */
  issue(conversationId: string, owner: ConversationOwner): string {
    if (!CONVERSATION_ID.test(conversationId))
      throw new UpstreamError(ErrorCodes.UPSTREAM_ERROR, "Genie answered with a conversation id of an unknown form.");
    const id = Buffer.from(conversationId, "utf8");
    return Buffer.concat([Buffer.of(VERSION), this.mac(conversationId, owner), id]).toString("base64url");
  }

  /** The conversation a handle names, when the handle was issued to this owner under this key. */
  open(handle: string, owner: ConversationOwner): OpenedHandle {
    if (handle.length > MAX_HANDLE_CHARS) return { refused: "malformed" };
    const bytes = Buffer.from(handle, "base64url");
    // One spelling per handle: Node's decoder skips stray characters and ignores trailing bits.
    if (bytes.toString("base64url") !== handle) return { refused: "malformed" };
    if (bytes.length < 1 + MAC_BYTES + 1 || bytes[0] !== VERSION) return { refused: "malformed" };
    const conversationId = bytes.subarray(1 + MAC_BYTES).toString("utf8");
    if (!CONVERSATION_ID.test(conversationId)) return { refused: "malformed" };
    const presented = bytes.subarray(1, 1 + MAC_BYTES);
    return timingSafeEqual(presented, this.mac(conversationId, owner)) ? { conversationId } : { refused: "foreign" };
  }

  private mac(conversationId: string, owner: ConversationOwner): Buffer {
    const { mode, human, issuer, expectedPrincipal } = owner.identity;
    // JSON keeps the fields apart unambiguously (no separator a value could contain); absent stays distinct from "".
    const bound = JSON.stringify([
      "genie-conversation",
      VERSION,
      owner.spaceId,
      conversationId,
      mode,
      human ?? null,
      // The same subject from another IdP is another human.
      issuer ?? null,
      expectedPrincipal ?? null,
    ]);
    return createHmac("sha256", this.#key).update(bound).digest();
  }
}
