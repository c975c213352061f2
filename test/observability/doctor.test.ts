import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorEnvironment } from "../support/workspace-env.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { runDoctor, formatReport, type DoctorCheck } from "../../src/cli/doctor.js";
import { resolveCaller } from "../../src/cli/doctor/identity-checks.js";
import { checkCaller } from "../../src/cli/doctor/resource-checks.js";
import { loadConfig } from "../../src/config/load.js";
import { federationBearer } from "../support/mcp-clients.js";

const run = promisify(execFile);

let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
});
afterAll(async () => {
  await workspace?.close();
});

/** The environment an operator would set for a real workspace, pointing at the local one. */
const workspaceEnv = () => operatorEnvironment(workspace);

const byName = (checks: DoctorCheck[], prefix: string) => checks.find((c) => c.name.startsWith(prefix));

/** The seed's per-role IdP clients, as `idpClients` of an issuer in the configuration file. */
const seedIdpClients = (): Record<string, { clientId: string; clientSecret: string }> =>
  Object.fromEntries(
    workspace.context.seed.idpClients.map((c) => [c.role, { clientId: c.clientId, clientSecret: c.clientSecret }]),
  );

/** `env` with its Federation issuer moved to a configuration file, where the server holds per-role IdP clients. */
function withIdpClientIssuer(
  env: Record<string, string>,
  idpClients: Record<string, { clientId: string; clientSecret: string }>,
  extra: Record<string, unknown> = {},
): Record<string, string> {
  const file = join(mkdtempSync(join(tmpdir(), "doctor-config-")), "config.json");
  const federation = {
    issuers: [
      {
        issuer: env.MCP_FEDERATION_ISSUER,
        audience: env.MCP_FEDERATION_AUDIENCE,
        jwksUri: env.MCP_FEDERATION_JWKS_URI,
        subjectTokenSource: "idp-client-credentials",
        idpClients,
      },
    ],
    roleToServicePrincipal: JSON.parse(env.MCP_ROLE_TO_SERVICE_PRINCIPAL!) as Record<string, string>,
  };
  writeFileSync(file, JSON.stringify({ identity: { federation }, ...extra }));
  const { MCP_FEDERATION_ISSUER: _moved, ...rest } = env;
  return { ...rest, MCP_CONFIG_FILE: file };
}
const tokenOf = async (role: string) => (await federationBearer(workspace, role)).authorization!.slice(7);

describe("doctor", () => {
  it("passes every check against a healthy workspace, checking resources as the given caller", async () => {
    const checks = await runDoctor({ env: workspaceEnv(), callerToken: await tokenOf("admin") });
    expect(checks.filter((c) => c.status === "fail")).toEqual([]);
    for (const name of [
      "configuration",
      "workspace reachable",
      "workspace OIDC discovery",
      "IdP discovery",
      "server service principal token",
      "warehouse",
      "audit table",
      "federation token exchange",
      "Genie space",
      "vector index",
      "serving endpoint",
    ])
      expect(byName(checks, name)?.status, name).toBe("ok");
    expect(byName(checks, "federation token exchange")!.detail).toContain("role admin");
  });

  it("reads the warehouse's state, the index's readiness and the endpoint's state from their details APIs", async () => {
    const checks = await runDoctor({ env: workspaceEnv(), callerToken: await tokenOf("admin") });
    expect(byName(checks, "warehouse 4b9f1e2a7c3d5e60 for callers")!.detail).toContain("RUNNING; SELECT 1 succeeded");
    expect(byName(checks, "vector index")!.detail).toContain("ready, 14 rows on endpoint local-vector-search");
    expect(byName(checks, "serving endpoint")!.detail).toContain("state READY");
  });

  it("warns on a caller's warehouse that is not running, naming its state, and sends it no statement", async () => {
    const config = loadConfig(workspaceEnv());
    const checks: DoctorCheck[] = [];
    const caller = await resolveCaller(config, await tokenOf("admin"), (c) => checks.push(c));
    const { warehouses, counters } = workspace.context;
    warehouses.set(config.workspace.warehouseId, "STOPPED");
    const before = counters.statements.length;
    try {
      await checkCaller(config, caller!, 10_000, (c) => checks.push(c));
    } finally {
      warehouses.set(config.workspace.warehouseId, "RUNNING");
    }
    const warehouse = byName(checks, "warehouse")!;
    expect(warehouse).toMatchObject({ status: "warn" });
    expect(warehouse.detail).toContain("state STOPPED");
    expect(warehouse.fix).toContain("Start warehouse");
    expect(counters.statements.length).toBe(before);
    expect(checks.filter((c) => c.status === "fail")).toEqual([]);
  });

  it("skips, naming the scope, a resource none of the caller's tools use", async () => {
    // west_sales may not call ask_supervisor: its exchanged token carries no serving scope.
    const checks = await runDoctor({ env: workspaceEnv(), callerToken: await tokenOf("west_sales") });
    const endpoint = byName(checks, "serving endpoint")!;
    expect(endpoint.status).toBe("skip");
    expect(endpoint.detail).toContain("serving.serving-endpoints");
    expect(byName(checks, "vector index")!.status).toBe("ok");
  });

  it("fails the serving endpoint check on an unknown endpoint, with the variable to fix", async () => {
    const checks = await runDoctor({
      env: { ...workspaceEnv(), DATABRICKS_SUPERVISOR_ENDPOINT: "no-such-endpoint" },
      callerToken: await tokenOf("admin"),
    });
    const endpoint = byName(checks, "serving endpoint")!;
    expect(endpoint.status).toBe("fail");
    expect(endpoint.detail).toContain("RESOURCE_DOES_NOT_EXIST");
    expect(endpoint.fix).toContain("DATABRICKS_SUPERVISOR_ENDPOINT");
  });

  it("fails the server service principal check on a wrong client secret, with the fix", async () => {
    const checks = await runDoctor({ env: { ...workspaceEnv(), DATABRICKS_CLIENT_SECRET: "not-the-secret" } });
    const sp = byName(checks, "server service principal token")!;
    expect(sp.status).toBe("fail");
    expect(sp.fix).toContain("DATABRICKS_CLIENT_ID");
    expect(JSON.stringify(checks)).not.toContain("not-the-secret");
  });

  it("fails the exchange when no federation policy of the mapped service principal matches the caller's role", async () => {
    const env = workspaceEnv();
    const roles = JSON.parse(env.MCP_ROLE_TO_SERVICE_PRINCIPAL!) as Record<string, string>;
    // west_sales mapped to east_sales' service principal: its policies name subject east_sales.
    env.MCP_ROLE_TO_SERVICE_PRINCIPAL = JSON.stringify({ ...roles, west_sales: roles.east_sales });
    const token = await tokenOf("west_sales");
    const checks = await runDoctor({ env, callerToken: token });
    const exchange = byName(checks, "federation token exchange")!;
    expect(exchange.status).toBe("fail");
    expect(exchange.fix).toContain("federation policy");
    expect(JSON.stringify(checks)).not.toContain(token);
  });

  it("tries every role's exchange without a caller token when the server holds per-role IdP clients", async () => {
    const env = workspaceEnv();
    const roles = JSON.parse(env.MCP_ROLE_TO_SERVICE_PRINCIPAL!) as Record<string, string>;
    const idpClients = seedIdpClients();
    // east_sales gets west_sales' IdP client: its service principal has no policy for that subject.
    idpClients.east_sales = idpClients.west_sales!;
    const checks = await runDoctor({ env: withIdpClientIssuer(env, idpClients) });
    expect(byName(checks, "role west_sales token exchange")!.status).toBe("ok");
    expect(byName(checks, "role admin token exchange")!.status).toBe("ok");
    const east = byName(checks, "role east_sales token exchange")!;
    expect(east.status).toBe("fail");
    expect(east.fix).toContain(roles.east_sales);
    expect(JSON.stringify(checks)).not.toContain(idpClients.admin!.clientSecret);
  });

  it("asks each role's exchange for the scopes of that role's tools only, as the server does", async () => {
    const checks = await runDoctor({ env: withIdpClientIssuer(workspaceEnv(), seedIdpClients()) });
    const west = byName(checks, "role west_sales token exchange")!;
    expect(west.status).toBe("ok");
    // The scopes the workspace granted: west_sales may not call ask_supervisor, so no serving scope.
    expect(west.detail).toMatch(/scopes dashboards\.genie sql vectorsearch\.vector-search-indexes$/);
    expect(byName(checks, "role executive token exchange")!.detail).toContain("serving.serving-endpoints");
  });

  it("warns, and requests nothing, for a mapped role that may call no tool", async () => {
    const env = withIdpClientIssuer(workspaceEnv(), seedIdpClients(), { policy: { rbac: { west_sales: [] } } });
    const principal = (JSON.parse(env.MCP_ROLE_TO_SERVICE_PRINCIPAL!) as Record<string, string>).west_sales!;
    const before = workspace.context.counters.tokenRequests.get(`token_exchange|${principal}`) ?? 0;
    const checks = await runDoctor({ env });
    expect(byName(checks, "role west_sales token exchange")).toMatchObject({ status: "warn" });
    expect(byName(checks, "role west_sales token exchange")!.fix).toContain("MCP_RBAC");
    expect(workspace.context.counters.tokenRequests.get(`token_exchange|${principal}`) ?? 0).toBe(before);
  });

  it("fails the Genie space check on an unknown space id", async () => {
    const checks = await runDoctor({
      env: { ...workspaceEnv(), DATABRICKS_GENIE_SPACE_ID: "01f0ffffffffffffffffffffffffffff" },
      callerToken: await tokenOf("admin"),
    });
    expect(byName(checks, "Genie space")!.status).toBe("fail");
    expect(byName(checks, "Genie space")!.fix).toContain("DATABRICKS_GENIE_SPACE_ID");
  });

  it("skips caller checks without a caller token and says how to run them", async () => {
    const checks = await runDoctor({ env: workspaceEnv() });
    const caller = byName(checks, "caller checks")!;
    expect(caller.status).toBe("skip");
    expect(caller.fix).toContain("--caller-token");
    expect(checks.filter((c) => c.status === "fail")).toEqual([]);
  });

  it("checks resources as the local user when DATABRICKS_TOKEN is set (stdio)", async () => {
    const { access_token } = await workspace.tokens.issue("ada.admin@example.com", ["all-apis"], 3600);
    const checks = await runDoctor({ env: { ...workspaceEnv(), DATABRICKS_TOKEN: access_token } });
    expect(checks.filter((c) => c.status === "fail")).toEqual([]);
    expect(byName(checks, "Genie space")!.detail).toContain("as DATABRICKS_TOKEN");
    expect(JSON.stringify(checks)).not.toContain(access_token);
  });

  it("fails reachability when the workspace does not answer, and stops there", async () => {
    const checks = await runDoctor({
      env: { ...workspaceEnv(), DATABRICKS_HOST: "http://127.0.0.1:1" },
      timeoutMs: 2000,
    });
    expect(byName(checks, "workspace reachable")!.status).toBe("fail");
    expect(byName(checks, "server service principal token")).toBeUndefined();
    expect(formatReport(checks)).toMatch(/1 check\(s\) failed\.$/);
  });

  it("exits 1 with the configuration problem named when a required setting is missing", async () => {
    const env = workspaceEnv();
    delete (env as Record<string, string | undefined>).DATABRICKS_WAREHOUSE_ID;
    const child = run(process.execPath, ["--import", "tsx", "src/cli/main.ts", "doctor", "--json"], {
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    const err = (await child.then(
      () => undefined,
      (e: unknown) => e,
    )) as { code: number; stdout: string } | undefined;
    expect(err?.code).toBe(1);
    const { checks } = JSON.parse(err!.stdout) as { checks: DoctorCheck[] };
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ name: "configuration", status: "fail" });
    expect(checks[0]!.detail).toContain("warehouseId");
  });

  it("exits 0 from the command line when everything passes", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", "doctor"], {
      env: { PATH: process.env.PATH ?? "", ...workspaceEnv() },
    });
    expect(stdout).toContain("All checks passed.");
  });
});
