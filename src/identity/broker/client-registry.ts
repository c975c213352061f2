import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { SealedRecords } from "./sealed-records.js";

/** An MCP client as the broker knows it: a public client (PKCE, no secret) and where it may be redirected. */
export interface BrokerClient {
  clientId: string;
  clientName?: string;
  redirectUris: string[];
}

const isLoopback = (url: URL) => ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);

/** https anywhere, http only to loopback (native apps, RFC 8252); no fragments. */
const RedirectUri = z
  .string()
  .max(2048)
  .url()
  .refine((uri) => {
    const url = new URL(uri);
    return url.hash === "" && (url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url)));
  }, "redirect_uris must be https, or http on loopback");

const Registration = z.object({
  redirect_uris: z.array(RedirectUri).min(1).max(10),
  client_name: z.string().max(200).optional(),
  token_endpoint_auth_method: z.literal("none").default("none"),
  grant_types: z
    .array(z.enum(["authorization_code", "refresh_token"]))
    .default(["authorization_code", "refresh_token"]),
  response_types: z.array(z.literal("code")).default(["code"]),
});

const MetadataDocument = Registration.extend({ client_id: z.string().url() });

export class ClientRegistrationError extends Error {
  constructor(
    readonly error: "invalid_client_metadata" | "invalid_redirect_uri",
    message: string,
  ) {
    super(message);
  }
}

/** How long a registered client is remembered without use. */
const REGISTRATION_TTL_MS = 365 * 86_400_000;
const METADATA_MAX_BYTES = 5 * 1024;

/**
 * Who the MCP clients are: registered here (RFC 7591 dynamic registration, public clients only), or named by the URL
 * of their client ID metadata document, fetched when they come (https; plain http only to loopback, for tests).
 */
export class ClientRegistry {
  constructor(
    private readonly records: SealedRecords,
    private readonly now: () => number,
    private readonly allowHttpMetadata: boolean,
  ) {}

  async register(body: unknown): Promise<BrokerClient & { issuedAt: number; raw: Record<string, unknown> }> {
    const parsed = Registration.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const onRedirect = issue.path[0] === "redirect_uris";
      throw new ClientRegistrationError(
        onRedirect ? "invalid_redirect_uri" : "invalid_client_metadata",
        `${issue.path.join(".") || "body"}: ${issue.message}`,
      );
    }
    const client: BrokerClient = {
      clientId: randomUUID(),
      redirectUris: parsed.data.redirect_uris,
      ...(parsed.data.client_name === undefined ? {} : { clientName: parsed.data.client_name }),
    };
    await this.records.put(`client:${client.clientId}`, client, this.now() + REGISTRATION_TTL_MS);
    return { ...client, issuedAt: Math.floor(this.now() / 1000), raw: parsed.data };
  }

  /** The client, or undefined when it is neither registered nor a reachable, valid metadata document. */
  async find(clientId: string): Promise<BrokerClient | undefined> {
    if (/^https?:\/\//.test(clientId)) return this.fromMetadataDocument(clientId);
    return this.records.get<BrokerClient>(`client:${clientId}`);
  }

  private async fromMetadataDocument(clientId: string): Promise<BrokerClient | undefined> {
    const url = new URL(clientId);
    if (url.protocol !== "https:" && !(this.allowHttpMetadata && isLoopback(url))) return undefined;
    if (url.pathname === "/" || url.hash !== "" || url.username !== "" || url.password !== "") return undefined;
    const res = await fetch(url, {
      headers: { accept: "application/json" },
      redirect: "error",
      signal: AbortSignal.timeout(5000),
    }).catch(() => undefined);
    if (!res?.ok) return undefined;
    const text = await res.text();
    if (Buffer.byteLength(text) > METADATA_MAX_BYTES) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return undefined;
    }
    const doc = MetadataDocument.safeParse(json);
    // The document must name itself: a client cannot borrow another document's redirect URIs.
    if (!doc.success || doc.data.client_id !== clientId) return undefined;
    return {
      clientId,
      redirectUris: doc.data.redirect_uris,
      ...(doc.data.client_name === undefined ? {} : { clientName: doc.data.client_name }),
    };
  }
}
