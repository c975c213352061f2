import { createRemoteJWKSet, jwtVerify, decodeJwt, type JWTPayload } from "jose";
import type { WorkspaceContext } from "../context.js";
import { defaultFederationAudiences } from "../discovery.js";
import { OAuthError } from "../http/errors.js";
import type { FederationPolicy } from "../seed/schema.js";

const jwksByUri = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function issuerOf(policy: FederationPolicy, ctx: WorkspaceContext): string {
  return policy.issuer === "local-idp" ? ctx.idpIssuer : policy.issuer;
}

function jwksFor(policy: FederationPolicy, ctx: WorkspaceContext) {
  const uri =
    policy.issuer === "local-idp" ? ctx.idpJwksUri : `${policy.issuer.replace(/\/$/, "")}/.well-known/jwks.json`;
  let set = jwksByUri.get(uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), { cooldownDuration: 1000 });
    jwksByUri.set(uri, set);
  }
  return set;
}

/** The policy's audiences (the account id when it names none), and the workspace's advertised default audience. */
function audiencesOf(policy: FederationPolicy, ctx: WorkspaceContext): string[] {
  return [...(policy.audiences ?? [ctx.seed.workspace.accountId]), ...defaultFederationAudiences(ctx)];
}

/** Does the subject token satisfy this policy: exact issuer, an allowed audience, the subject claim's value? */
async function verifyAgainst(
  token: string,
  policy: FederationPolicy,
  ctx: WorkspaceContext,
): Promise<JWTPayload | undefined> {
  try {
    const { payload } = await jwtVerify(token, jwksFor(policy, ctx), {
      issuer: issuerOf(policy, ctx),
      audience: audiencesOf(policy, ctx),
      algorithms: ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
      clockTolerance: 30,
      requiredClaims: ["exp"],
    });
    if (policy.subject !== undefined && payload[policy.subject_claim] !== policy.subject) return undefined;
    return payload;
  } catch {
    return undefined;
  }
}

/** The principal a subject token may be exchanged for, and the token's expiry; OAuth errors otherwise. */
export async function matchFederation(
  subjectToken: string,
  clientId: string | undefined,
  ctx: WorkspaceContext,
): Promise<{ principal: string; exp: number }> {
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(subjectToken);
  } catch {
    throw new OAuthError(400, "invalid_request", "subject_token is not a JWT.");
  }
  if (clientId !== undefined) {
    const sp = ctx.directory.servicePrincipal(clientId);
    if (!sp) throw new OAuthError(401, "invalid_client", "Unknown client_id.");
    for (const policy of sp.federationPolicies) {
      const payload = await verifyAgainst(subjectToken, policy, ctx);
      if (payload) return { principal: sp.applicationId, exp: payload.exp! };
    }
    throw new OAuthError(
      401,
      "invalid_grant",
      "The subject token does not match any federation policy of this service principal.",
    );
  }
  for (const policy of ctx.seed.accountFederationPolicies) {
    const payload = await verifyAgainst(subjectToken, policy, ctx);
    if (!payload) continue;
    const name = payload[policy.subject_claim];
    const user = typeof name === "string" ? ctx.directory.userByName(name) : undefined;
    if (user) return { principal: user.userName, exp: payload.exp! };
  }
  void unverified;
  throw new OAuthError(
    401,
    "invalid_grant",
    "The subject token does not match the account federation policy or names no user.",
  );
}
