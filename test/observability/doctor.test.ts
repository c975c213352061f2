import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorEnvironment } from "../support/workspace-env.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { runDoctor, formatReport, type DoctorCheck } from "../../src/cli/doctor.js";
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
    ])
      expect(byName(checks, name)?.status, name).toBe("ok");
    expect(byName(checks, "federation token exchange")!.detail).toContain("role admin");
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
    const { seed } = workspace.context;
    const env = workspaceEnv();
    const roles = JSON.parse(env.MCP_ROLE_TO_SERVICE_PRINCIPAL!) as Record<string, string>;
    const idpClients = Object.fromEntries(
      seed.idpClients.map((c) => [c.role, { clientId: c.clientId, clientSecret: c.clientSecret }]),
    );
    // east_sales gets west_sales' IdP client: its service principal has no policy for that subject.
    idpClients.east_sales = idpClients.west_sales!;
    const file = join(mkdtempSync(join(tmpdir(), "doctor-config-")), "config.json");
    writeFileSync(
      file,
      JSON.stringify({
        identity: {
          federation: {
            issuers: [
              {
                issuer: env.MCP_FEDERATION_ISSUER,
                audience: env.MCP_FEDERATION_AUDIENCE,
                jwksUri: env.MCP_FEDERATION_JWKS_URI,
                subjectTokenSource: "idp-client-credentials",
                idpClients,
              },
            ],
            roleToServicePrincipal: roles,
          },
        },
      }),
    );
    delete (env as Record<string, string | undefined>).MCP_FEDERATION_ISSUER;
    const checks = await runDoctor({ env: { ...env, MCP_CONFIG_FILE: file } });
    expect(byName(checks, "role west_sales token exchange")!.status).toBe("ok");
    expect(byName(checks, "role admin token exchange")!.status).toBe("ok");
    const east = byName(checks, "role east_sales token exchange")!;
    expect(east.status).toBe("fail");
    expect(east.fix).toContain(roles.east_sales);
    expect(JSON.stringify(checks)).not.toContain(idpClients.admin!.clientSecret);
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
