import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDeals, type DealRow } from "../../emulator/sql/deals.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { servicePrincipalToken } from "../support/workspace-tokens.js";

// The governance matrix of the design, proven in the engine: every principal sends the same SQL over HTTP and the
// rows and margin values it gets back are compared, deal by deal, with the seeded data.

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- statement responses are probed field by field
type Json = Record<string, any>;

type Region = "WEST" | "EAST" | "CENTRAL";

/** What one identity may see, as the design's matrix states it (not derived from the seed's filter text). */
interface Expectation {
  regions: Region[];
  /** Deals owned by this name are visible whatever their region (`owner_email = current_user()`). */
  ownerName?: string;
  marginVisible: boolean;
}

const ALL: Region[] = ["WEST", "EAST", "CENTRAL"];

const ROLE_SERVICE_PRINCIPALS: Record<string, { applicationId: string; expect: Expectation }> = {
  west_sales: {
    applicationId: "5e5e0001-0000-4000-8000-000000000001",
    expect: { regions: ["WEST"], marginVisible: false },
  },
  east_sales: {
    applicationId: "5e5e0002-0000-4000-8000-000000000002",
    expect: { regions: ["EAST"], marginVisible: false },
  },
  managers: { applicationId: "5e5e0003-0000-4000-8000-000000000003", expect: { regions: ALL, marginVisible: false } },
  executive: { applicationId: "5e5e0004-0000-4000-8000-000000000004", expect: { regions: ALL, marginVisible: true } },
  finance: { applicationId: "5e5e0005-0000-4000-8000-000000000005", expect: { regions: ALL, marginVisible: true } },
  admin: { applicationId: "5e5e0006-0000-4000-8000-000000000006", expect: { regions: ALL, marginVisible: true } },
};

const USERS: Record<string, Expectation> = {
  "wendy.west@example.com": { regions: ["WEST"], ownerName: "wendy.west@example.com", marginVisible: false },
  "evan.east@example.com": { regions: ["EAST"], ownerName: "evan.east@example.com", marginVisible: false },
  "maria.manager@example.com": { regions: ALL, marginVisible: false },
  "erin.exec@example.com": { regions: ALL, marginVisible: true },
  "frank.finance@example.com": { regions: ALL, marginVisible: true },
  "ada.admin@example.com": { regions: ALL, marginVisible: true },
  "olivia.obo@example.com": { regions: [], ownerName: "olivia.obo@example.com", marginVisible: false },
};

const AUDIT_READER_ROLES = new Set(["executive", "finance", "admin"]);

let workspace: LocalWorkspace;
let warehouseId: string;
let deals: DealRow[];

const spToken = (applicationId: string) => servicePrincipalToken(workspace, applicationId, "sql");

/** A user's OBO token, as a workspace login would have issued it. */
async function userToken(userName: string): Promise<string> {
  return (await workspace.tokens.issue(userName, ["sql"], 600)).access_token;
}

async function execute(token: string, statement: string): Promise<Json> {
  const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ warehouse_id: warehouseId, statement, wait_timeout: "30s" }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

/** The deals (id → margin as the caller should see it) the matrix allows for this identity. */
function expectedView(expectation: Expectation): Map<string, string | null> {
  const visible = deals.filter(
    (d) => expectation.regions.includes(d.region as Region) || d.owner_email === expectation.ownerName,
  );
  return new Map(visible.map((d) => [d.deal_id, expectation.marginVisible ? d.margin_pct : null]));
}

async function assertSees(token: string, expectation: Expectation): Promise<void> {
  const response = await execute(token, "SELECT deal_id, margin_pct FROM main.sales.deals");
  expect(response.status.state).toBe("SUCCEEDED");
  expect(response.manifest.total_chunk_count).toBe(1);
  const seen = new Map((response.result.data_array as [string, string | null][]).map(([id, m]) => [id, m]));
  const expected = expectedView(expectation);
  expect(seen.size).toBe(expected.size);
  expect(seen).toEqual(expected);
}

async function regionCounts(token: string): Promise<Record<string, number>> {
  const response = await execute(
    token,
    "SELECT region, count(*) AS n FROM main.sales.deals GROUP BY region ORDER BY region",
  );
  return Object.fromEntries((response.result.data_array as [string, string][]).map(([r, n]) => [r, Number(n)]));
}

async function auditReadable(token: string): Promise<boolean> {
  const response = await execute(token, "SELECT count(*) FROM main.governance.mcp_audit");
  if (response.status.state === "SUCCEEDED") return true;
  expect(response.status).toMatchObject({
    state: "FAILED",
    error: { error_code: "BAD_REQUEST", message: expect.stringMatching(/^\[INSUFFICIENT_PERMISSIONS\]/) },
    sql_state: "42501",
  });
  return false;
}

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 5 });
  warehouseId = workspace.context.seed.warehouses[0]!.id;
  deals = generateDeals(workspace.context.seed);
}, 60_000);

afterAll(async () => {
  await workspace?.close();
});

describe("the seed is a fair test of the matrix", () => {
  it("every region has deals, and the region-scoped users own deals outside their region", () => {
    for (const region of ALL) expect(deals.filter((d) => d.region === region).length).toBeGreaterThan(100);
    for (const user of ["wendy.west@example.com", "evan.east@example.com", "olivia.obo@example.com"]) {
      expect(deals.some((d) => d.owner_email === user)).toBe(true);
    }
    expect(deals.some((d) => d.owner_email === "wendy.west@example.com" && d.region !== "WEST")).toBe(true);
    expect(deals.some((d) => d.owner_email === "evan.east@example.com" && d.region !== "EAST")).toBe(true);
  });
});

describe("each role's federation service principal (fed-exchange-sp-<role>)", () => {
  for (const [role, { applicationId, expect: expectation }] of Object.entries(ROLE_SERVICE_PRINCIPALS)) {
    it(`${role}: sees ${expectation.regions.join("+")} ${expectation.marginVisible ? "with real margins" : "with margin_pct masked to NULL"}`, async () => {
      const token = await spToken(applicationId);
      await assertSees(token, expectation);
      const counts = await regionCounts(token);
      expect(Object.keys(counts).sort()).toEqual([...expectation.regions].sort());
      for (const region of expectation.regions)
        expect(counts[region]).toBe(deals.filter((d) => d.region === region).length);
    });
  }

  it("the audit table is readable by the executive, finance and admin service principals only", async () => {
    for (const [role, { applicationId }] of Object.entries(ROLE_SERVICE_PRINCIPALS)) {
      expect({ role, readable: await auditReadable(await spToken(applicationId)) }).toEqual({
        role,
        readable: AUDIT_READER_ROLES.has(role),
      });
    }
  });
});

describe("the server's own service principal (mcp-server-sp, the audit writer)", () => {
  const SERVER_SP = "5e5e0000-0000-4000-8000-00000000a0d1";

  it("may insert and read audit rows, while no reader may insert one", async () => {
    const writer = await spToken(SERVER_SP);
    const insert = (id: string) =>
      `INSERT INTO main.governance.mcp_audit (record_id, event_time, tool, outcome) VALUES ('${id}', now(), 'check_identity', 'allowed')`;
    expect((await execute(writer, insert("gov-test-1"))).status.state).toBe("SUCCEEDED");
    const readBack = await execute(
      writer,
      "SELECT tool, outcome FROM main.governance.mcp_audit WHERE record_id = 'gov-test-1'",
    );
    expect(readBack.result.data_array).toEqual([["check_identity", "allowed"]]);

    for (const reader of [
      ROLE_SERVICE_PRINCIPALS.admin!.applicationId,
      ROLE_SERVICE_PRINCIPALS.finance!.applicationId,
    ]) {
      const refused = await execute(await spToken(reader), insert("gov-test-forged"));
      expect(refused.status).toMatchObject({ state: "FAILED", sql_state: "42501" });
    }
    const forged = await execute(
      writer,
      "SELECT count(*) FROM main.governance.mcp_audit WHERE record_id = 'gov-test-forged'",
    );
    expect(forged.result.data_array).toEqual([["0"]]);
  });

  it("sees no sales data: it holds no grant on main.sales.deals", async () => {
    const response = await execute(await spToken(SERVER_SP), "SELECT count(*) FROM main.sales.deals");
    expect(response.status).toMatchObject({
      state: "FAILED",
      error: { error_code: "BAD_REQUEST", message: expect.stringMatching(/^\[INSUFFICIENT_PERMISSIONS\]/) },
    });
  });
});

describe("each seed user on behalf of whom a request runs (OBO)", () => {
  for (const [userName, expectation] of Object.entries(USERS)) {
    const regions = expectation.regions.length > 0 ? expectation.regions.join("+") : "no region";
    const own = expectation.ownerName ? " plus their own deals" : "";
    it(`${userName}: sees ${regions}${own}, ${expectation.marginVisible ? "real margins" : "margin masked"}`, async () => {
      await assertSees(await userToken(userName), expectation);
    });
  }

  it("current_user() is the user's email, and owner = current_user() shows exactly the user's own deals", async () => {
    const token = await userToken("olivia.obo@example.com");
    const response = await execute(
      token,
      "SELECT current_user() AS me, count(*) AS n FROM main.sales.deals WHERE owner_email = current_user()",
    );
    expect(response.result.data_array).toEqual([
      ["olivia.obo@example.com", String(deals.filter((d) => d.owner_email === "olivia.obo@example.com").length)],
    ]);
  });

  it("the audit table is readable by the executive, finance and admin users only", async () => {
    for (const user of workspace.context.seed.users) {
      const readable = await auditReadable(await userToken(user.userName));
      expect({ user: user.userName, readable }).toEqual({
        user: user.userName,
        readable: AUDIT_READER_ROLES.has(user.role ?? ""),
      });
    }
  });
});
