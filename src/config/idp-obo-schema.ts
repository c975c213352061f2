import { z } from "zod";

/** The Azure Databricks resource id, the same in every Entra tenant. */
export const AZURE_DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default";

/** An IdP (Microsoft Entra ID) in front of the workspace: users' tokens exchanged there on their behalf. */
export const IdpOboSchema = z.object({
  issuer: z
    .string({ error: "set MCP_IDP_OBO_ISSUER" })
    .url()
    .describe("Exact `iss` of the users' tokens (e.g. https://login.microsoftonline.com/{tenant}/v2.0)."),
  audience: z
    .string({ error: "set MCP_IDP_OBO_AUDIENCE" })
    .min(1)
    .describe("`aud` the users' tokens carry: this server's application (client) id at the IdP."),
  jwksUri: z.string().url().optional().describe("JWKS URL; discovered from the issuer when absent."),
  tokenEndpoint: z
    .string({ error: "set MCP_IDP_OBO_TOKEN_ENDPOINT" })
    .url()
    .describe("The IdP's token endpoint (e.g. .../{tenant}/oauth2/v2.0/token)."),
  clientId: z
    .string({ error: "set MCP_IDP_OBO_CLIENT_ID" })
    .min(1)
    .describe("This server's confidential client at the IdP."),
  clientSecret: z.string({ error: "set MCP_IDP_OBO_CLIENT_SECRET" }).min(1).describe("Its client secret."),
  scope: z.string().default(AZURE_DATABRICKS_SCOPE).describe("Scope asked for on the user's behalf: Azure Databricks."),
  userClaims: z
    .array(z.string().min(1))
    .min(1)
    .default(["upn", "preferred_username", "email"])
    .describe("Claims naming the workspace user, first present wins (as Azure Databricks reads them)."),
  algorithms: z
    .array(z.enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]))
    .min(1)
    .default(["RS256"]),
});
/** The one-line fix when the on-behalf-of issuer is also a Federation issuer (a token could not say which it is for). */
export function idpOboProblem(
  idpObo: IdpOboConfig | undefined,
  federationIssuers: readonly string[],
): string | undefined {
  if (idpObo && federationIssuers.includes(idpObo.issuer))
    return `identity.idpObo.issuer ${idpObo.issuer} is also a Federation issuer; list it once (MCP_IDP_OBO_ISSUER or MCP_FEDERATION_ISSUER).`;
  return undefined;
}

export type IdpOboConfig = z.infer<typeof IdpOboSchema>;
