import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../../src/audit/audit-entry.js";
import { RefusalAggregator } from "../../../src/audit/refusal-aggregator.js";
import { BrokerSchema } from "../../../src/config/broker-schema.js";
import { createAuthorizationServer } from "../../../src/identity/broker/authorization-server.js";
import { BrokerTokens } from "../../../src/identity/broker/broker-tokens.js";
import { ClientRegistry } from "../../../src/identity/broker/client-registry.js";
import { EndpointGuard } from "../../../src/identity/broker/endpoint-guard.js";
import { SealedBox } from "../../../src/identity/broker/sealed-box.js";
import { SealedRecords } from "../../../src/identity/broker/sealed-records.js";
import { InProcessBrokerStore } from "../../../src/identity/broker/token-store.js";
import { UserGrants } from "../../../src/identity/broker/user-grants.js";
import { FakeClock } from "../../support/fake-clock.js";

/** The broker's authorization server alone on loopback, on a fake clock, its audit rows and log lines kept here. */
const clock = new FakeClock();
const audited: AuditEntry[] = [];
const logLines: string[] = [];
let server: Server;
let folded: RefusalAggregator;
let base: string;

const REGISTRATIONS = 3;
const ATTEMPTS = 4;
const REDIRECT = "http://127.0.0.1:47995/cb";
// Never reached: no refusal tested here goes on to the workspace.
const WORKSPACE = "http://127.0.0.1:9";

beforeAll(async () => {
  const broker = BrokerSchema.parse({
    clientId: "app",
    clientSecret: "app-secret",
    tokenKey: randomBytes(32).toString("base64"),
    registrationsPerMinute: REGISTRATIONS,
    attemptsPerMinute: ATTEMPTS,
  });
  const records = new SealedRecords(new InProcessBrokerStore(() => clock.now()), new SealedBox(broker.tokenKey));
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  );
  const record = async (entry: AuditEntry) => {
    audited.push(entry);
  };
  folded = new RefusalAggregator(record, logger, { clock });
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const handle = createAuthorizationServer({
    broker,
    workspaceHost: WORKSPACE,
    tokens: new BrokerTokens(broker.tokenKey, base, `${base}/mcp`, 600, clock),
    clients: new ClientRegistry(records, () => clock.now(), true),
    records,
    userGrants: new UserGrants(WORKSPACE, broker, records, clock, 60),
    clock,
    logger,
    guard: new EndpointGuard(broker, clock, logger, { record, fold: (refusal) => folded.refuse(refusal) }),
  });
  server.on("request", (req, res) => {
    void handle(req, res, new URL(req.url!, base)).then((served) => {
      if (!served) res.writeHead(404).end();
    });
  });
});
afterAll(async () => {
  await folded?.stop();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});
// Each test starts with full buckets: a minute passes between tests.
beforeEach(async () => {
  await clock.advance(61_000);
  audited.length = 0;
});

const register = (body: unknown) =>
  fetch(`${base}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
const tokenForm = (body: Record<string, string>) =>
  fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(body),
  });

describe("body size cap", () => {
  it("a token form over 16 KiB is refused 413 with an OAuth error body, and audited without its contents", async () => {
    const code = randomBytes(16).toString("hex");
    const res = await tokenForm({ grant_type: "authorization_code", code, code_verifier: "v".repeat(17 * 1024) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "invalid_request" });
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ tool: "oauth.token", outcome: "denied", errorCode: "INVALID_ARGUMENT" });
    expect(audited[0]!.arguments).toEqual({ status: 413, error: "invalid_request", source: "127.0.0.1" });
    expect(JSON.stringify(audited)).not.toContain(code);
  });

  it("a registration document over 16 KiB is refused 413", async () => {
    const res = await register({ redirect_uris: [REDIRECT], client_name: "x", padding: "p".repeat(17 * 1024) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_request");
    expect(audited.map((r) => [r.tool, (r.arguments as { status: number }).status])).toEqual([["oauth.register", 413]]);
  });
});

describe("registration field bounds", () => {
  it("more than ten redirect_uris are refused as invalid_redirect_uri", async () => {
    const uris = Array.from({ length: 11 }, (_, i) => `http://127.0.0.1:4799${i % 10}/cb${i}`);
    const res = await register({ redirect_uris: uris });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_redirect_uri");
    expect(audited[0]).toMatchObject({ tool: "oauth.register", errorCode: "INVALID_ARGUMENT" });
  });

  it("a redirect_uri over 2048 characters is refused", async () => {
    const res = await register({ redirect_uris: [`${REDIRECT}?${"a".repeat(2048)}`] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_redirect_uri");
  });

  it("a client_name over 200 characters is refused", async () => {
    const res = await register({ redirect_uris: [REDIRECT], client_name: "n".repeat(201) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_client_metadata");
  });
});

describe("per-source rate limits", () => {
  it("token attempts past the limit are refused 429 with Retry-After until the window passes on the clock", async () => {
    for (let i = 0; i < ATTEMPTS; i += 1)
      expect((await tokenForm({ grant_type: "refresh_token", refresh_token: `r${i}` })).status).toBe(400);
    const limited = await tokenForm({ grant_type: "refresh_token", refresh_token: "r-last" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(((await limited.json()) as { error: string }).error).toBe("temporarily_unavailable");
    await clock.advance(30_000);
    const later = await tokenForm({ grant_type: "refresh_token", refresh_token: "r-later" });
    expect(later.status).toBe(429);
    expect(later.headers.get("retry-after")).toBe("30");
    await clock.advance(30_000);
    expect((await tokenForm({ grant_type: "refresh_token", refresh_token: "r-again" })).status).toBe(400);
    await folded.flush();
    const limitedRows = audited.filter((r) => r.errorCode === "RATE_LIMITED");
    expect(new Set(limitedRows.map((r) => r.tool))).toEqual(new Set(["oauth.token"]));
    expect(refusalCount(limitedRows)).toBe(2);
  });

  it("authorize and token share one attempt budget per source", async () => {
    const authorize = () => fetch(`${base}/oauth/authorize?client_id=nobody`, { redirect: "manual" });
    for (let i = 0; i < ATTEMPTS - 1; i += 1) expect((await authorize()).status).toBe(400);
    expect((await tokenForm({ grant_type: "password" })).status).toBe(400);
    expect((await authorize()).status).toBe(429);
    expect((await tokenForm({ grant_type: "password" })).status).toBe(429);
  });

  it("forged workspace callbacks spend the same budget: past it 429, not one lookup or audit row each", async () => {
    const callback = (state: string) =>
      fetch(`${base}/oauth/databricks/callback?state=${state}&code=c`, { redirect: "manual" });
    for (let i = 0; i < ATTEMPTS; i += 1) expect((await callback(`s${i}`)).status).toBe(400);
    expect((await callback("s-last")).status).toBe(429);
    expect(audited.map((r) => [r.tool, r.errorCode])).toEqual([
      ...Array.from({ length: ATTEMPTS }, () => ["oauth.callback", "INVALID_ARGUMENT"]),
      ["oauth.callback", "RATE_LIMITED"],
    ]);
  });

  it("registrations have their own budget: past it 429, and the attempt budget is untouched", async () => {
    for (let i = 0; i < REGISTRATIONS; i += 1) expect((await register({ redirect_uris: [REDIRECT] })).status).toBe(201);
    const limited = await register({ redirect_uris: [REDIRECT] });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await tokenForm({ grant_type: "password" })).status).toBe(400);
    await clock.advance(60_000);
    expect((await register({ redirect_uris: [REDIRECT] })).status).toBe(201);
  });
});

/** How many refusals folded rows stand for. */
const refusalCount = (rows: AuditEntry[]) =>
  rows.reduce((n, r) => n + (r.arguments as { refusals: { count: number } }).refusals.count, 0);

describe("audit and log of refusals", () => {
  it("a flood past the limit is audited as one row at once and one folded row with the count, not a row each", async () => {
    for (let i = 0; i < ATTEMPTS; i += 1) await tokenForm({ grant_type: "password" });
    audited.length = 0;
    for (let i = 0; i < 25; i += 1) expect((await tokenForm({ grant_type: "password" })).status).toBe(429);
    expect(audited).toHaveLength(1);
    await folded.flush();
    expect(audited).toHaveLength(2);
    expect(refusalCount(audited)).toBe(25);
    for (const row of audited) expect(row).toMatchObject({ tool: "oauth.token", errorCode: "RATE_LIMITED" });
  });

  it("a refusal sent back by redirect is audited, and no row carries the code, verifier or token presented", async () => {
    const client = (await (await register({ redirect_uris: [REDIRECT] })).json()) as { client_id: string };
    const redirected = await fetch(
      `${base}/oauth/authorize?client_id=${client.client_id}&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=token`,
      { redirect: "manual" },
    );
    expect(redirected.status).toBe(302);
    expect(new URL(redirected.headers.get("location")!).searchParams.get("error")).toBe("unsupported_response_type");
    const secrets = ["code-1f0e9d", "verifier-8c7b6a", "refresh-5e4d3c"];
    await tokenForm({ grant_type: "authorization_code", code: secrets[0]!, code_verifier: secrets[1]! });
    await tokenForm({ grant_type: "refresh_token", refresh_token: secrets[2]!, client_id: client.client_id });
    expect(audited.map((r) => [r.tool, (r.arguments as { error: string }).error])).toEqual([
      ["oauth.authorize", "unsupported_response_type"],
      ["oauth.token", "invalid_grant"],
      ["oauth.token", "invalid_grant"],
    ]);
    for (const row of audited) expect(row).toMatchObject({ mode: "unresolved", credentialSource: "none" });
    const everything = JSON.stringify(audited) + logLines.join("");
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });

  it("each kind of refusal is logged once, however often it repeats", async () => {
    for (let i = 0; i < 3; i += 1) await tokenForm({ grant_type: "nonsense" });
    const lines = logLines.filter(
      (l) => l.includes('"event":"broker_refusal"') && l.includes("unsupported_grant_type"),
    );
    expect(lines).toHaveLength(1);
    expect(audited).toHaveLength(3);
  });
});
