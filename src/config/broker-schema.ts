import { z } from "zod";

/** Bytes of the key that seals users' Databricks tokens at rest (AES-256-GCM). */
export const TOKEN_KEY_BYTES = 32;

/**
 * The server as the broker of users' Databricks sign-in: an app connection (confidential client) at the workspace,
 * and the key that seals the tokens it keeps for users.
 */
export const BrokerSchema = z.object({
  clientId: z
    .string({ error: "set MCP_BROKER_CLIENT_ID" })
    .min(1)
    .describe("The workspace app connection's client id."),
  clientSecret: z
    .string({ error: "set MCP_BROKER_CLIENT_SECRET" })
    .min(1)
    .describe("Its client secret (the server is a confidential client)."),
  tokenKey: z
    .string({ error: "set MCP_BROKER_TOKEN_KEY" })
    .refine((key) => Buffer.from(key, "base64").length === TOKEN_KEY_BYTES && /^[A-Za-z0-9+/]+={0,2}$/.test(key), {
      message: `MCP_BROKER_TOKEN_KEY must be ${TOKEN_KEY_BYTES} random bytes in base64 (openssl rand -base64 32)`,
    })
    .describe("Seals users' Databricks tokens at rest (AES-256-GCM); the same on every replica."),
  scopes: z
    .array(z.string().min(1))
    .default(["all-apis", "offline_access"])
    .describe("Scopes asked of the workspace at sign-in; offline_access brings the refresh token."),
  accessTokenTtlS: z
    .number()
    .int()
    .min(60)
    .max(3600)
    .default(600)
    .describe("Lifetime of the server's own access tokens given to MCP clients."),
  refreshTokenTtlS: z
    .number()
    .int()
    .positive()
    .default(30 * 86_400)
    .describe("Lifetime of the server's own refresh tokens (rotated on use)."),
  store: z
    .string()
    .refine((url) => url === "memory" || /^postgres(ql)?:\/\//.test(url), {
      message: "MCP_BROKER_STORE must be 'memory' or a postgres:// URL",
    })
    .default("memory")
    .describe(
      "Where sealed sign-ins are kept: this process ('memory', one replica) or a PostgreSQL database replicas share.",
    ),
  registrationsPerMinute: z
    .number()
    .int()
    .positive()
    .default(10)
    .describe("Client registrations one source address may make per minute (MCP_BROKER_REGISTRATIONS_PER_MINUTE)."),
  attemptsPerMinute: z
    .number()
    .int()
    .positive()
    .default(60)
    .describe(
      "Authorize, callback, token and revoke requests one source address may make per minute (MCP_BROKER_ATTEMPTS_PER_MINUTE).",
    ),
  allowHttpClientMetadata: z
    .boolean()
    .default(false)
    .describe("Fetch client ID metadata documents over plain http from loopback (local testing only)."),
});
export type BrokerConfig = z.infer<typeof BrokerSchema>;

/** The one-line fix when the broker cannot know its own address (its issuer, and its tokens' audience). */
export function brokerProblem(broker: BrokerConfig | undefined, publicUrl: string | undefined): string | undefined {
  if (broker && !publicUrl)
    return "identity.broker: the server brokers sign-in under its public address; set MCP_PUBLIC_URL.";
  return undefined;
}
