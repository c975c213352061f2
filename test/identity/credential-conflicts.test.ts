import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshLoopbackSource } from "../support/json-rpc.js";
import { federationBearer, oboBearer } from "../support/mcp-clients.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { expectRefusalRows, rpc, toolAnswer, toolCall } from "../security/support.js";

/** A deployment behind the Databricks Apps proxy: the proxy header is trusted, bearers are accepted too. */
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ overrides: { identity: { obo: { trustProxyHeader: true } } } });
});
afterAll(async () => {
  await stack?.stop();
});

const tokenOf = (headers: Record<string, string>) => headers.authorization!.replace(/^Bearer /, "");

/** A POST whose headers may repeat (each value of an array goes out as its own header line), as fetch cannot send. */
function postRaw(url: string, body: unknown, headers: Record<string, string | string[]>) {
  return new Promise<{ status: number; text: string; challenge: string }>((resolve, reject) => {
    // From its own source address: refusals of one source, code and minute share an audit record.
    const req = request(url, { method: "POST", localAddress: freshLoopbackSource() });
    const all = { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers };
    for (const [name, value] of Object.entries(all)) req.setHeader(name, value);
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, text, challenge: String(res.headers["www-authenticate"] ?? "") }),
      );
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** Asserts a 401 CREDENTIALS_CONFLICT refusal that names no token and adds exactly one denied audit row. */
async function expectConflict(send: () => ReturnType<typeof postRaw>, tokens: string[]): Promise<void> {
  const since = Date.now();
  const answer = await send();
  expect(answer.status).toBe(401);
  expect(answer.challenge).toContain('error_description="CREDENTIALS_CONFLICT"');
  expect(answer.text).toContain("[CREDENTIALS_CONFLICT]");
  for (const token of tokens) expect(answer.text).not.toContain(token);
  expect(await expectRefusalRows(stack.workspace, "CREDENTIALS_CONFLICT", 1, since)).toBe(1);
}

describe("a request carrying more than one credential is refused, never resolved to one of them", () => {
  it("refuses two Authorization headers (Node would keep only the first)", async () => {
    const victim = tokenOf(await federationBearer(stack.workspace, "executive"));
    const other = tokenOf(await federationBearer(stack.workspace, "west_sales"));
    await expectConflict(
      () =>
        postRaw(stack.mcpUrl, toolCall("check_identity", {}), {
          authorization: [`Bearer ${victim}`, `Bearer ${other}`],
        }),
      [victim, other],
    );
  });

  it("refuses a bearer beside a trusted x-forwarded-access-token naming another token", async () => {
    const proxied = tokenOf(await oboBearer(stack.workspace, "olivia.obo@example.com"));
    const bearer = tokenOf(await federationBearer(stack.workspace, "admin"));
    await expectConflict(
      () =>
        postRaw(stack.mcpUrl, toolCall("check_identity", {}), {
          authorization: `Bearer ${bearer}`,
          "x-forwarded-access-token": proxied,
        }),
      [proxied, bearer],
    );
  });

  it("refuses two x-forwarded-access-token headers", async () => {
    const first = tokenOf(await oboBearer(stack.workspace, "olivia.obo@example.com"));
    const second = tokenOf(await oboBearer(stack.workspace, "maria.manager@example.com"));
    await expectConflict(
      () => postRaw(stack.mcpUrl, toolCall("check_identity", {}), { "x-forwarded-access-token": [first, second] }),
      [first, second],
    );
  });

  it("accepts a bearer that is the same token as the proxy header (one credential, sent twice)", async () => {
    const token = tokenOf(await oboBearer(stack.workspace, "olivia.obo@example.com"));
    const answer = toolAnswer(
      await rpc(stack.mcpUrl, toolCall("check_identity", {}), {
        authorization: `Bearer ${token}`,
        "x-forwarded-access-token": token,
      }),
    );
    expect(answer.isError, answer.text).toBe(false);
    expect(answer.structured).toMatchObject({ mode: "obo", credential_source: "proxy-header" });
  });
});
