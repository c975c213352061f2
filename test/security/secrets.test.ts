import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { startApp, type App } from "../../src/app.js";
import { REDACTED_PATHS } from "../../src/observability/logger.js";
import { federationBearer, oboBearer } from "../support/mcp-clients.js";
import { auditRows, rpc, toolAnswer, toolCall, waitForAuditRows } from "./support.js";
import { recordFigure } from "../reliability/figures.js";

let workspace: LocalWorkspace;
let app: App;
let mcpUrl: string;
let spoolDir: string;
const logLines: string[] = [];
/** Every credential value this run used: inbound bearers, workspace tokens issued, client secrets. */
const secrets = new Set<string>();
/** Everything the server sent back: tool results, JSON-RPC errors, HTTP error bodies. */
const answers: string[] = [];

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 10 });
  const issue = workspace.tokens.issue.bind(workspace.tokens);
  workspace.tokens.issue = async (...args: Parameters<typeof issue>) => {
    const issued = await issue(...args);
    secrets.add(issued.access_token);
    return issued;
  };
  for (const sp of workspace.context.seed.servicePrincipals) secrets.add(sp.secret);
  for (const client of workspace.context.seed.idpClients) secrets.add(client.clientSecret);
  spoolDir = mkdtempSync(join(tmpdir(), "governed-mcp-secrets-"));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  // The server's own redaction rules, at debug level, into a buffer this test can search.
  const logger = pino({ level: "debug", redact: { paths: REDACTED_PATHS, censor: "[redacted]" } }, sink);
  app = await startApp({
    env: {},
    transport: "http",
    localWorkspace: workspace,
    logger,
    overrides: {
      server: { port: 0 },
      audit: { spoolDir, flushIntervalMs: 50 },
      timeouts: { query_knowledge_base: 1500 },
      logLevel: "debug",
    },
  });
  mcpUrl = `${app.http!.url}/mcp`;
});
afterAll(async () => {
  await app?.stop();
  await workspace?.close();
});

async function send(tool: string, args: unknown, headers: Record<string, string>) {
  for (const value of Object.values(headers)) secrets.add(value.replace(/^Bearer\s+/i, ""));
  const answer = await rpc(mcpUrl, toolCall(tool, args), headers);
  answers.push(answer.text);
  return toolAnswer(answer);
}

describe("no secret leaves the server", () => {
  it("runs a representative session: every tool, every mode, refusals, faults", async () => {
    const admin = await federationBearer(workspace, "admin");
    const west = await federationBearer(workspace, "west_sales");
    const obo = await oboBearer(workspace, "wendy.west@example.com");
    const calls: [string, unknown, Record<string, string>][] = [
      ["check_identity", {}, admin],
      ["query_sales_data", { limit: 5 }, admin],
      ["genie_query", { question: "total amount by region" }, admin],
      ["query_knowledge_base", { query: "discount approval" }, admin],
      ["query_audit_log", { limit: 5 }, admin],
      ["ask_supervisor", { question: "total amount by region" }, admin],
      ["check_identity", {}, west],
      ["query_audit_log", {}, west],
      ["query_sales_data", { region: "EAST" }, west],
      ["check_identity", {}, obo],
      ["query_sales_data", { limit: 3 }, obo],
    ];
    for (const [tool, args, headers] of calls) await send(tool, args, headers);

    // A caller pasting a credential into an argument: the audit row must not keep it.
    const pasted = (await federationBearer(workspace, "finance")).authorization!.slice(7);
    secrets.add(pasted);
    await send("query_audit_log", { user: pasted }, admin);

    // Refusals: an expired token, a forged signature, an untrusted proxy header.
    const expired = await workspace.idp.mintToken({ sub: "ada.admin", role: "admin", ttlSeconds: -600 });
    await send("check_identity", {}, { authorization: `Bearer ${expired}` });
    const [h, p] = admin.authorization!.slice(7).split(".");
    await send("check_identity", {}, { authorization: `Bearer ${h}.${p}.${"A".repeat(342)}` });
    await send("check_identity", {}, { "x-forwarded-access-token": obo.authorization!.slice(7) });

    // Faults: rate limited, unavailable, stalled, a failing token endpoint for a fresh exchange.
    workspace.faults.add({
      pathPrefix: "/api/2.0/vector-search/",
      failures: { status: 429, count: 1, retryAfterS: 90 },
    });
    await send("query_knowledge_base", { query: "pricing" }, west);
    workspace.faults.add({ pathPrefix: "/api/2.0/vector-search/", stalls: 1 });
    await send("query_knowledge_base", { query: "pricing" }, west);
    workspace.faults.add({ pathPrefix: "/oidc/v1/token", failures: { status: 503, count: 1 } });
    const fresh = await workspace.idp.mintToken({ sub: "evan.east", role: "east_sales", ttlSeconds: 1234 });
    await send("check_identity", {}, { authorization: `Bearer ${fresh}` });
    workspace.faults.clear();
    await send("check_identity", {}, { authorization: `Bearer ${fresh}` });
    expect(answers.length).toBe(calls.length + 8);
  }, 120_000);

  it("used real credentials (the search below is not vacuous)", () => {
    // Bearers of five callers, exchanged and M2M workspace tokens, and the seed's client secrets.
    expect(secrets.size).toBeGreaterThan(20);
    expect(logLines.length).toBeGreaterThan(10);
  });

  it("finds no credential in logs, answers, audit rows or the spool", async () => {
    const rows = await waitForAuditRows(workspace, (r) => r.length >= answers.length);
    expect(rows.length).toBeGreaterThanOrEqual(answers.length);
    const spool = readdirSync(spoolDir)
      .map((f) => readFileSync(join(spoolDir, f), "utf8"))
      .join("\n");
    const places: Record<string, string> = {
      logs: logLines.join("\n"),
      answers: answers.join("\n"),
      audit: JSON.stringify(await auditRows(workspace)),
      spool,
    };
    // The pasted credential reached the audit path and was redacted there, not merely absent.
    expect(places.audit).toContain("[redacted]");
    const found: string[] = [];
    let searches = 0;
    for (const secret of secrets) {
      // A whole value, and the tail of a JWT (its signature) in case a token was logged cut.
      const needles = [secret, ...(secret.split(".").length === 3 ? [secret.slice(-32)] : [])];
      for (const [place, text] of Object.entries(places))
        for (const needle of needles) {
          searches += 1;
          if (needle.length >= 12 && text.includes(needle)) found.push(`${place}: …${needle.slice(-12)}`);
        }
    }
    recordFigure("secrets: distinct credential values used", secrets.size);
    recordFigure("secrets: searches (value × place)", searches);
    recordFigure("secrets: found in logs, answers, audit rows or spool", found.length);
    expect(found).toEqual([]);
  });
});
