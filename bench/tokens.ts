import { setTimeout as sleep } from "node:timers/promises";
import type { BenchStack } from "./stack.js";
import { closedLoop, failures } from "./load.js";
import type { Figure } from "./stats.js";
import { McpWireClient } from "./wire.js";

const ROLES = ["west_sales", "east_sales", "managers", "executive", "finance", "admin"] as const;
/** The server refetches a JWKS for an unknown kid at most once per this cooldown (src/identity/jwt-verifier.ts). */
const JWKS_COOLDOWN_MS = 30_000;

export interface TokenOptions {
  calls: number;
  oboCallers: number;
  coldCalls: number;
  /** Key rotations to measure; each may wait out the JWKS refetch cooldown. */
  rotations: number;
}

/**
 * Token work: `/oidc/v1/token` requests per (principal, scopes) over many calls of 6 Federation roles and many OBO
 * callers; single flight under a cold burst; JWKS fetches per IdP key rotation.
 */
export async function measureTokenWork(stack: BenchStack, options: TokenOptions): Promise<Figure[]> {
  const { workspace } = stack;
  const { seed } = workspace.context;
  const mcp = new McpWireClient(stack.mcpUrl, Math.max(128, options.coldCalls));
  const figures: Figure[] = [];
  const jwksAtStart = workspace.idp.jwksFetchCount();
  let lastJwksFetch = Date.now();
  try {
    const mint = async (role: string, sub?: string) => {
      const user = seed.users.find((u) => u.role === role)!;
      return `Bearer ${await workspace.idp.mintToken({ sub: sub ?? user.idpSubject ?? user.userName, email: user.userName, role })}`;
    };
    const federated = await Promise.all(ROLES.map((role) => mint(role)));
    const oboUsers = seed.users.map((u) => u.userName);
    const obo = await Promise.all(
      Array.from({ length: options.oboCallers }, async (_, i) => {
        const { access_token } = await workspace.tokens.issue(oboUsers[i % oboUsers.length]!, ["all-apis"], 3600);
        return `Bearer ${access_token}`;
      }),
    );
    const callers = [...federated, ...obo];
    workspace.counters.reset();
    const spread = await closedLoop(options.calls, 32, (i) =>
      mcp.callTool("check_identity", {}, { authorization: callers[i % callers.length]! }),
    );
    const perKey = [...workspace.counters.tokenRequests.entries()];
    const workspaceJwksFetches = workspace.counters.jwksFetches;
    const exchanges = workspace.counters.tokenRequestTotal("token_exchange");
    const all = workspace.counters.tokenRequestTotal();
    const onePerKey = perKey.every(([, n]) => n === 1);
    figures.push({
      benchmark: "token work",
      figure: `token exchanges for ${options.calls} calls (6 roles + ${options.oboCallers} OBO callers)`,
      measured: String(exchanges),
      target: `= ${ROLES.length}, one per (principal, scopes); OBO tokens are verified, not exchanged`,
      pass: exchanges === ROLES.length && onePerKey && spread.errors === 0,
      detail: `all /oidc/v1/token requests: ${all} (${summarize(perKey)}); client_credentials is the audit writer${failures(spread)}`,
    });

    workspace.counters.reset();
    const cold = await mint("finance", "bench-cold-subject");
    const burst = await closedLoop(options.coldCalls, options.coldCalls, () =>
      mcp.callTool("check_identity", {}, { authorization: cold }),
    );
    const coldExchanges = workspace.counters.tokenRequestTotal();
    figures.push({
      benchmark: "token work",
      figure: `${options.coldCalls} concurrent cold calls of one role`,
      measured: `${coldExchanges} exchange(s)`,
      target: "= 1",
      pass: coldExchanges === 1 && burst.errors === 0,
      detail: `${burst.latencies.length} calls answered${failures(burst)}`,
    });

    const initialFetches = workspace.idp.jwksFetchCount() - jwksAtStart;
    lastJwksFetch = Date.now();
    let rotationFetches = 0;
    let rotationFailures = 0;
    for (let r = 0; r < options.rotations; r += 1) {
      await sleep(Math.max(0, lastJwksFetch + JWKS_COOLDOWN_MS + 500 - Date.now()));
      await workspace.idp.rotateKeys();
      const before = workspace.idp.jwksFetchCount();
      const fresh = await Promise.all(ROLES.map((role, i) => mint(role, `bench-rotation-${r}-${i}`)));
      await closedLoop(ROLES.length * 5, 16, (i) =>
        mcp.callTool("check_identity", {}, { authorization: fresh[i % fresh.length]! }).catch(() => {
          rotationFailures += 1;
        }),
      );
      rotationFetches += workspace.idp.jwksFetchCount() - before;
      lastJwksFetch = Date.now();
    }
    figures.push({
      benchmark: "token work",
      figure: `IdP JWKS fetches: at start, and over ${options.rotations} key rotation(s)`,
      measured: `${initialFetches} + ${rotationFetches}`,
      // Two verifiers read the IdP's JWKS: the server's (inbound bearer) and the workspace's (token exchange).
      target: `= 2 + ${2 * options.rotations} (1 per verifier per key)`,
      pass: initialFetches === 2 && rotationFetches === 2 * options.rotations && rotationFailures === 0,
      detail: `calls refused after a rotation: ${rotationFailures}; workspace JWKS fetches by the OBO verifier over the ${options.calls} calls: ${workspaceJwksFetches}`,
    });
  } finally {
    await mcp.close();
  }
  return figures;
}

/** `grant|principal` counts → "token_exchange: 6 principals, max 1 each, …". */
function summarize(perKey: [string, number][]): string {
  const byGrant = new Map<string, number[]>();
  for (const [key, n] of perKey) {
    const grant = key.split("|")[0]!;
    byGrant.set(grant, [...(byGrant.get(grant) ?? []), n]);
  }
  return [...byGrant]
    .map(([grant, counts]) => `${grant}: ${counts.length} principal(s), max ${Math.max(...counts)} each`)
    .join("; ");
}
