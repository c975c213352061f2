import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";

let workspace: LocalWorkspace;
let token: string;

beforeAll(async () => {
  workspace = await startLocalWorkspace({ adminRoutes: true, genieStepDelayMs: 10 });
  ({ access_token: token } = await workspace.tokens.issue("wendy.west@example.com", ["all-apis"], 600));
});
afterAll(async () => {
  await workspace?.close();
});

const admin = (path: string, body?: unknown) =>
  fetch(`${workspace.baseUrl}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const statement = () =>
  fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ warehouse_id: workspace.context.seed.warehouses[0]!.id, statement: "SELECT 1" }),
  });

describe("fault injection over HTTP (/__admin, for runs in another process)", () => {
  it("refuses a malformed rule with 400 and a Databricks-style error body", async () => {
    const res = await admin("/__admin/faults", { rules: [{ pathPrefix: "/x", failures: { status: 418, count: 1 } }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE" });
  });

  it("applies a forced statement outcome and reports what it injected", async () => {
    expect(
      (
        await admin("/__admin/faults", {
          rules: [{ pathPrefix: "/api/2.0/sql/statements", statements: { state: "FAILED", count: 1 } }],
        })
      ).status,
    ).toBe(200);
    const failed = (await (await statement()).json()) as { status: { state: string; error?: { error_code: string } } };
    expect(failed.status.state).toBe("FAILED");
    expect(failed.status.error?.error_code).toBe("INTERNAL_ERROR");
    expect(((await (await statement()).json()) as { status: { state: string } }).status.state).toBe("SUCCEEDED");
    expect(
      ((await (await admin("/__admin/faults")).json()) as { injected: { statements: number } }).injected.statements,
    ).toBe(1);
  });

  it("revokes and restores the warehouse CAN_USE of a principal at run time", async () => {
    expect((await admin("/__admin/warehouse/permissions", { action: "revoke", principal: "west_sales" })).status).toBe(
      200,
    );
    expect((await admin("/__admin/warehouse/permissions", { action: "revoke", principal: "users" })).status).toBe(200);
    const denied = await statement();
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error_code: "PERMISSION_DENIED" });
    expect((await admin("/__admin/warehouse/permissions", { action: "restore" })).status).toBe(200);
    expect((await statement()).status).toBe(200);
  });

  it("takes the IdP's JWKS down and back up", async () => {
    expect((await admin("/__admin/idp/jwks", { available: false })).status).toBe(200);
    expect((await fetch(workspace.idp.jwksUri)).status).toBe(503);
    expect((await admin("/__admin/idp/jwks", { available: true })).status).toBe(200);
    expect((await fetch(workspace.idp.jwksUri)).status).toBe(200);
  });

  it("clears every rule and stalled request", async () => {
    await admin("/__admin/faults", { rules: [{ pathPrefix: "/api/2.0/sql/statements", stalls: 5 }] });
    const stallsOf = async () =>
      ((await (await admin("/__admin/faults")).json()) as { injected: { stalls: number } }).injected.stalls;
    const before = await stallsOf();
    const stalled = statement().catch(() => "dropped");
    // Only once the workspace holds the request is there a stalled request to clear (polled, bounded generously).
    await vi.waitFor(async () => expect(await stallsOf()).toBe(before + 1), { timeout: 30_000, interval: 10 });
    expect((await admin("/__admin/faults", { clear: true })).status).toBe(200);
    expect(await stalled).toBe("dropped");
    expect((await statement()).status).toBe(200);
  });
});

describe("credentials over HTTP (/__admin, for callers in another process)", () => {
  it("issues a user's workspace token that SCIM Me accepts, and refuses an unknown principal", async () => {
    const res = await admin("/__admin/tokens/issue", {
      principal: "erin.exec@example.com",
      scopes: ["all-apis"],
      ttl_seconds: 600,
    });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const me = await fetch(`${workspace.baseUrl}/api/2.0/preview/scim/v2/Me`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(await me.json()).toMatchObject({ userName: "erin.exec@example.com" });
    const unknown = await admin("/__admin/tokens/issue", { principal: "nobody@x", scopes: ["sql"], ttl_seconds: 60 });
    expect(unknown.status).toBe(404);
    const bad = await admin("/__admin/tokens/issue", {
      principal: "erin.exec@example.com",
      scopes: [],
      ttl_seconds: 60,
    });
    expect(bad.status).toBe(400);
  });

  it("mints an IdP JWT carrying the subject and role asked for", async () => {
    const res = await admin("/__admin/idp/mint", { sub: "bench-subject-1", email: "b1@example.com", role: "finance" });
    expect(res.status).toBe(200);
    const { token: jwt } = (await res.json()) as { token: string };
    const claims = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: "bench-subject-1", email: "b1@example.com", role: "finance" });
    expect((await admin("/__admin/idp/mint", { sub: "" })).status).toBe(400);
  });
});
