import type { IncomingMessage, ServerResponse } from "node:http";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { App } from "../../src/app.js";
import { startHttpApp } from "../support/http-app.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { requestIdOf, waitForAudit } from "../support/audit-table.js";
import { textOf } from "../support/results.js";

const SECRET = "handle-secret-shared-by-every-replica-0001";
const OTHER_SECRET = "handle-secret-of-another-deployment-00002";
/** Genie's follow-up route: a request to it means the workspace was asked to continue a conversation. */
const FOLLOW_UP = /^\/api\/2\.0\/genie\/spaces\/[^/]+\/conversations\/([^/]+)\/messages$/;

let stack: TestStack;
let replica: App;
let otherDeployment: App;
let keyless: App;
const clients: Client[] = [];
/** Conversations the workspace was asked to continue, by Genie conversation id. */
const followUps: string[] = [];

/** Every log line of the replicas started here. */
const logLines: string[] = [];
const capturingLogger = () => pino({ level: "info" }, { write: (line: string) => void logLines.push(line) });

/** A second server on the same workspace, as another replica behind a load balancer. */
async function startReplica(handleSecret?: string): Promise<App> {
  const env: Record<string, string> = handleSecret ? { MCP_HANDLE_SECRET: handleSecret } : {};
  return (await startHttpApp(stack.workspace, { env, logger: capturingLogger() })).app;
}

async function client(app: App | TestStack, headers: Record<string, string>): Promise<Client> {
  const url = "mcpUrl" in app ? app.mcpUrl : `${app.http!.url}${app.config.server.path}`;
  const connected = await connectHttp(url, headers);
  clients.push(connected);
  return connected;
}

beforeAll(async () => {
  stack = await startTestStack({ env: { MCP_HANDLE_SECRET: SECRET } });
  [replica, otherDeployment, keyless] = await Promise.all([
    startReplica(SECRET),
    startReplica(OTHER_SECRET),
    startReplica(),
  ]);
  const apply = stack.workspace.faults.apply.bind(stack.workspace.faults);
  stack.workspace.faults.apply = (req: IncomingMessage, res: ServerResponse, pathname: string) => {
    const continued = req.method === "POST" ? FOLLOW_UP.exec(pathname)?.[1] : undefined;
    if (continued) followUps.push(continued);
    return apply(req, res, pathname);
  };
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([replica?.stop(), otherDeployment?.stop(), keyless?.stop()]);
  await stack?.stop();
});

/** A west_sales human of the IdP: every one of them is the same service principal to the workspace. */
async function westSalesHuman(sub: string): Promise<Record<string, string>> {
  const token = await stack.workspace.idp.mintToken({ sub, email: `${sub}@example.com`, role: "west_sales" });
  return { authorization: `Bearer ${token}` };
}

async function ask(who: Client, conversationId?: string) {
  const result = await who.callTool({
    name: "genie_query",
    arguments: {
      question: "What is the total amount by region?",
      ...(conversationId ? { conversation_id: conversationId } : {}),
    },
  });
  return { result, structured: result.structuredContent as { conversation_id: string; rows: string[][] } | undefined };
}

describe("genie_query conversations belong to the human who started them", () => {
  let wendy: Client;
  let walt: Client;
  let wendyHandle: string;
  beforeAll(async () => {
    wendy = await client(stack, await federationBearer(stack.workspace, "west_sales"));
    walt = await client(stack, await westSalesHuman("walt.west"));
    const started = await ask(wendy);
    expect(started.result.isError, textOf(started.result)).toBeFalsy();
    wendyHandle = started.structured!.conversation_id;
  });

  it("the conversation_id handed out is an opaque handle; Wendy continues her own conversation with it", async () => {
    expect(wendyHandle).toMatch(/^[A-Za-z0-9_-]{46,215}$/);
    const before = followUps.length;
    const followUp = await ask(wendy, wendyHandle);
    expect(followUp.result.isError, textOf(followUp.result)).toBeFalsy();
    expect(followUp.structured!.rows.map((r) => r[0])).toEqual(["WEST"]);
    // The same conversation, so the same handle; Genie was asked to continue it once.
    expect(followUp.structured!.conversation_id).toBe(wendyHandle);
    expect(followUps.length).toBe(before + 1);
    expect(wendyHandle).not.toContain(followUps.at(-1));
  });

  it("another west_sales human holding Wendy's handle gets NOT_FOUND, the same answer as for no conversation, and Genie is never asked", async () => {
    const before = followUps.length;
    const stolen = await walt.callTool({
      name: "genie_query",
      arguments: { question: "and the deal names?", conversation_id: wendyHandle },
    });
    const nonsense = await walt.callTool({
      name: "genie_query",
      arguments: { question: "and the deal names?", conversation_id: "no-such-conversation" },
    });
    expect(stolen.isError).toBe(true);
    expect(stolen._meta?.error_code).toBe("NOT_FOUND");
    expect(textOf(stolen)).toBe(textOf(nonsense));
    expect(textOf(stolen)).toMatch(/^\[NOT_FOUND\] No Genie conversation matches this conversation_id\./);
    expect(followUps.length).toBe(before);

    const id = requestIdOf(stolen);
    const rows = await waitForAudit(stack.workspace, (r) => r.some((row) => row.request_id === id));
    expect(rows.filter((row) => row.request_id === id)).toEqual([
      expect.objectContaining({
        human: "walt.west",
        role: "west_sales",
        tool: "genie_query",
        outcome: "denied",
        error_code: "NOT_FOUND",
      }),
    ]);
    // A value that never was a handle is a failed call, not a refusal of someone else's conversation.
    const nonsenseId = requestIdOf(nonsense);
    const later = await waitForAudit(stack.workspace, (r) => r.some((row) => row.request_id === nonsenseId));
    expect(later.find((row) => row.request_id === nonsenseId)).toMatchObject({
      outcome: "failed",
      error_code: "NOT_FOUND",
    });
  });

  it("a tampered handle is NOT_FOUND, even for its owner", async () => {
    const swapped = wendyHandle[20] === "A" ? "B" : "A";
    const tampered = `${wendyHandle.slice(0, 20)}${swapped}${wendyHandle.slice(21)}`;
    const before = followUps.length;
    const answer = await wendy.callTool({
      name: "genie_query",
      arguments: { question: "more", conversation_id: tampered },
    });
    expect(answer._meta?.error_code).toBe("NOT_FOUND");
    expect(followUps.length).toBe(before);
  });

  it("a handle issued under another key is NOT_FOUND", async () => {
    const elsewhere = await client(otherDeployment, await federationBearer(stack.workspace, "west_sales"));
    const issued = await ask(elsewhere);
    expect(issued.result.isError, textOf(issued.result)).toBeFalsy();
    const foreign = issued.structured!.conversation_id;
    expect(foreign).not.toBe(wendyHandle);
    const answer = await ask(wendy, foreign);
    expect(answer.result._meta?.error_code).toBe("NOT_FOUND");
  });

  it("a replica configured with the same MCP_HANDLE_SECRET continues Wendy's conversation, and still refuses Walt", async () => {
    const wendyThere = await client(replica, await federationBearer(stack.workspace, "west_sales"));
    const waltThere = await client(replica, await westSalesHuman("walt.west"));
    const followUp = await ask(wendyThere, wendyHandle);
    expect(followUp.result.isError, textOf(followUp.result)).toBeFalsy();
    expect(followUp.structured!.conversation_id).toBe(wendyHandle);
    expect((await ask(waltThere, wendyHandle)).result._meta?.error_code).toBe("NOT_FOUND");
  });
});

describe("the handle key", () => {
  it("without MCP_HANDLE_SECRET is the process's own: one warning at start, and follow-ups work on that process", async () => {
    const warnings = logLines.filter((line) => line.includes("MCP_HANDLE_SECRET"));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40 });
    const wendy = await client(keyless, await federationBearer(stack.workspace, "west_sales"));
    const started = await ask(wendy);
    const followUp = await ask(wendy, started.structured!.conversation_id);
    expect(followUp.result.isError, textOf(followUp.result)).toBeFalsy();
  });

  it("never appears in a log line", () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain(OTHER_SECRET);
    }
  });
});
