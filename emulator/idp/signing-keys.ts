import { generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { calculateJwkThumbprint, type JWK } from "jose";

const generateRsaKeyPair = promisify(generateKeyPair);

/** Thrown for key operations the ring refuses (an unknown kid). */
export class SigningKeyError extends Error {
  constructor(
    readonly code: "ERR_UNKNOWN_KID",
    message: string,
  ) {
    super(message);
    this.name = "SigningKeyError";
  }
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  /** Private JWK with kid, alg and use, the form oidc-provider's `jwks` option takes. */
  privateJwk: JWK;
  publicJwk: JWK;
  /** When a newer key took over; retired keys stay published until the grace period ends. */
  retiredAt?: number;
}

/** RS256 signing keys of the local IdP: one current key, retired keys kept for a grace period, revocation. */
export class SigningKeyRing {
  private keys: SigningKey[] = [];

  private constructor(private readonly graceMs: number) {}

  static async create(graceMs: number): Promise<SigningKeyRing> {
    const ring = new SigningKeyRing(graceMs);
    ring.keys.push(await newSigningKey());
    return ring;
  }

  current(): SigningKey {
    return this.keys[0]!;
  }

  /** A new key becomes current; the previous one is retired but still verifies tokens it signed. */
  async rotate(): Promise<SigningKey> {
    const fresh = await newSigningKey();
    const now = Date.now();
    for (const key of this.keys) key.retiredAt ??= now;
    this.keys.unshift(fresh);
    return fresh;
  }

  /** Removes a key from publication; revoking the current key first rotates so signing never stops. */
  async revoke(kid: string): Promise<void> {
    if (!this.keys.some((key) => key.kid === kid))
      throw new SigningKeyError("ERR_UNKNOWN_KID", `No signing key with kid ${kid}`);
    if (this.current().kid === kid) await this.rotate();
    this.keys = this.keys.filter((key) => key.kid !== kid);
  }

  /** Keys still published: the current one and retired ones inside the grace period, current first. */
  published(): SigningKey[] {
    const cutoff = Date.now() - this.graceMs;
    this.keys = this.keys.filter((key) => key.retiredAt === undefined || key.retiredAt > cutoff);
    return [...this.keys];
  }

  publicJwks(): { keys: JWK[] } {
    return { keys: this.published().map((key) => key.publicJwk) };
  }
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateRsaKeyPair("rsa", { modulusLength: 2048 });
  const publicBase = publicKey.export({ format: "jwk" }) as JWK;
  const kid = await calculateJwkThumbprint(publicBase, "sha256");
  const meta = { kid, alg: "RS256", use: "sig" };
  return {
    kid,
    privateKey,
    privateJwk: { ...(privateKey.export({ format: "jwk" }) as JWK), ...meta },
    publicJwk: { kty: publicBase.kty, n: publicBase.n, e: publicBase.e, ...meta },
  };
}
