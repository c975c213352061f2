import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { clientCredentials } from "../../src/identity/workspace-oauth.js";
import { tokenRequestFetch } from "../../src/databricks/token-request-retry.js";
import { FakeClock } from "../support/fake-clock.js";

let workspace: LocalWorkspace;
let sp: { applicationId: string; secret: string };
const TOKEN = "/oidc/v1/token";

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 10 });
  sp = workspace.context.seed.servicePrincipals.find((s) => s.displayName === "mcp-server-sp")!;
});
afterEach(() => workspace.faults.clear());
afterAll(async () => {
  await workspace?.close();
});

const form = (grant: string) =>
  new URLSearchParams({ grant_type: grant, client_id: sp.applicationId, client_secret: sp.secret, scope: "sql" });

/** One token request through the retrying fetch; returns its status and how many injected failures it met. */
async function post(grant: string, options: Parameters<typeof tokenRequestFetch>[0] = { baseBackoffMs: 5 }) {
  const before = workspace.faults.injected.failures;
  const res = await tokenRequestFetch(options)(`${workspace.baseUrl}${TOKEN}`, {
    method: "POST",
    body: form(grant),
    headers: { "content-type": "application/x-www-form-urlencoded" },
    redirect: "manual",
  });
  await res.body?.cancel();
  return { status: res.status, failures: workspace.faults.injected.failures - before };
}

describe("token requests are retried where repeating them is safe", () => {
  it("gets a client-credentials token through a 503 burst on the token endpoint", async () => {
    workspace.faults.add({ pathPrefix: TOKEN, failures: { status: 503, count: 2 } });
    const token = await clientCredentials(workspace.baseUrl, sp.applicationId, sp.secret, ["sql"]);
    expect(token.accessToken).toMatch(/^eyJ/);
    expect(workspace.faults.injected.failures).toBe(2);
  });

  it("gets a client-credentials token through a connection reset", async () => {
    workspace.faults.add({ pathPrefix: TOKEN, resets: 1 });
    const res = await post("client_credentials", { baseBackoffMs: 5 });
    expect(res.status).toBe(200);
  });

  it("sends an authorization code exactly once, even when the answer is a 503", async () => {
    workspace.faults.add({ pathPrefix: TOKEN, failures: { status: 503, count: 5 } });
    const res = await post("authorization_code", { baseBackoffMs: 5 });
    expect(res.status).toBe(503);
    expect(res.failures).toBe(1);
  });

  it("waits the Retry-After of a 429 on its clock, then gets the token", async () => {
    workspace.faults.add({ pathPrefix: TOKEN, failures: { status: 429, count: 1, retryAfterS: 2 } });
    const clock = new FakeClock();
    const started = clock.now();
    const res = await clock.drive(post("client_credentials", { clock }));
    expect(res).toEqual({ status: 200, failures: 1 });
    expect(clock.now() - started).toBe(2000);
  });

  it("hands back a 429 whose Retry-After is longer than it may wait, without retrying", async () => {
    workspace.faults.add({ pathPrefix: TOKEN, failures: { status: 429, count: 5, retryAfterS: 60 } });
    const res = await post("client_credentials", {});
    expect(res.status).toBe(429);
    expect(res.failures).toBe(1);
  });

  it("gives up after a bounded number of attempts", async () => {
    workspace.faults.add({ pathPrefix: TOKEN, failures: { status: 503, count: 50 } });
    const res = await post("client_credentials", { baseBackoffMs: 5, maxAttempts: 3 });
    expect(res.status).toBe(503);
    expect(res.failures).toBe(3);
  });
});
