import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { runLogin } from "../../src/cli/login.js";
import { runWhoami } from "../../src/cli/whoami.js";
import { loadConfig } from "../../src/config/load.js";
import { createCredentialResolver } from "../../src/identity/strategy-selector.js";
import { ALL_TOOLS } from "../../tools/index.js";
import { connectStdio } from "../support/mcp-clients.js";
import { textOf } from "../support/results.js";
import { operatorEnvironment } from "../support/workspace-env.js";

let workspace: LocalWorkspace;
let dir: string;
beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  dir = mkdtempSync(join(tmpdir(), "governed-mcp-local-identity-"));
});
afterAll(async () => {
  await workspace?.close();
});

const serverSp = () => workspace.context.seed.servicePrincipals.find((sp) => sp.displayName === "mcp-server-sp")!;

/** A developer's environment against a running workspace: the server SP writes audit rows; files live in a temp dir. */
function localEnv(extra: Record<string, string>, name: string): Record<string, string> {
  return {
    HOME: dir,
    ...operatorEnvironment(workspace),
    DATABRICKS_CONFIG_FILE: join(dir, `${name}.databrickscfg`),
    MCP_LOGIN_CACHE_FILE: join(dir, `${name}-tokens.json`),
    MCP_AUDIT_SPOOL_DIR: mkdtempSync(join(dir, "spool-")),
    LOG_LEVEL: "silent",
    ...extra,
  };
}

async function stdioIdentity(env: Record<string, string>) {
  const client = await connectStdio(env);
  try {
    const result = await client.callTool({ name: "check_identity", arguments: {} });
    expect(result.isError, textOf(result)).toBeFalsy();
    return result.structuredContent as Record<string, unknown>;
  } finally {
    await client.close();
  }
}

/** Follows the workspace's authorize redirect as the chosen demo user, landing on the login's loopback callback. */
async function approveAs(user: string) {
  return async (url: string) => {
    const authorize = new URL(url);
    authorize.searchParams.set("user", user);
    const res = await fetch(authorize, { redirect: "manual" });
    expect(res.status).toBe(302);
    const callback = await fetch(res.headers.get("location")!);
    expect(callback.status).toBe(200);
  };
}

const userToken = async (user: string) => (await workspace.tokens.issue(user, ["all-apis"], 3600)).access_token;

describe("stdio local identities (Databricks unified auth) report the workspace's current_user()", () => {
  it("DATABRICKS_CLIENT_ID/SECRET: M2M as the service principal's application id", async () => {
    const identity = await stdioIdentity(localEnv({}, "m2m"));
    expect(identity).toMatchObject({
      mode: "m2m",
      credential_source: "client-credentials",
      workspace_principal: serverSp().applicationId,
    });
  });

  it("DATABRICKS_TOKEN: PAT as the developer", async () => {
    const identity = await stdioIdentity(
      localEnv({ DATABRICKS_TOKEN: await userToken("evan.east@example.com") }, "pat"),
    );
    expect(identity).toMatchObject({
      mode: "pat",
      credential_source: "env-token",
      workspace_principal: "evan.east@example.com",
    });
  });

  it("DATABRICKS_CONFIG_PROFILE: the profile's host and token from DATABRICKS_CONFIG_FILE", async () => {
    const env = localEnv({ DATABRICKS_CONFIG_PROFILE: "dev" }, "profile");
    writeFileSync(
      env.DATABRICKS_CONFIG_FILE!,
      `; local developer profiles\n[DEFAULT]\nhost = https://elsewhere.example.com\n\n[dev]\nhost = ${workspace.baseUrl}/\ntoken = ${await userToken("wendy.west@example.com")}\n`,
    );
    delete env.DATABRICKS_HOST;
    const identity = await stdioIdentity(env);
    expect(identity).toMatchObject({
      mode: "pat",
      credential_source: "profile",
      workspace_principal: "wendy.west@example.com",
    });
  });

  it("`login` then stdio: U2M from the saved login (Authorization Code + PKCE, public client)", async () => {
    const env = localEnv({}, "u2m");
    const printed: string[] = [];
    const before = workspace.counters.tokenRequests.get("authorization_code|frank.finance@example.com") ?? 0;
    const { user, cacheFile } = await runLogin({
      env,
      openUrl: await approveAs("frank.finance@example.com"),
      print: (line) => printed.push(line),
    });
    expect(user).toBe("frank.finance@example.com");
    expect(workspace.counters.tokenRequests.get("authorization_code|frank.finance@example.com")).toBe(before + 1);
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(cacheFile, "utf8")).logins[workspace.baseUrl];
    expect(saved).toMatchObject({ clientId: "databricks-cli", user: "frank.finance@example.com" });
    expect(saved.refreshToken).toBeTruthy();
    expect(printed.join("\n")).not.toContain(saved.accessToken);

    const identity = await stdioIdentity(env);
    expect(identity).toMatchObject({
      mode: "u2m",
      credential_source: "login-cache",
      human: "frank.finance@example.com",
      workspace_principal: "frank.finance@example.com",
    });
  });
});

describe("login", () => {
  it("sends the public client id and an S256 code challenge, and no client secret", async () => {
    const env = localEnv({}, "login-url");
    let authorizeUrl: URL | undefined;
    await runLogin({
      env,
      openUrl: async (url) => {
        authorizeUrl = new URL(url);
        await (
          await approveAs("erin.exec@example.com")
        )(url);
      },
      print: () => {},
    });
    expect(authorizeUrl!.origin + authorizeUrl!.pathname).toBe(`${workspace.baseUrl}/oidc/v1/authorize`);
    const q = authorizeUrl!.searchParams;
    expect(q.get("client_id")).toBe("databricks-cli");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(q.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(q.get("scope")!.split(" ")).toEqual(expect.arrayContaining(["sql", "offline_access"]));
    expect(q.get("state")).toBeTruthy();
    expect(q.has("client_secret")).toBe(false);
  });

  it("asks for the scopes of the configured catalog's tools (MCP_TOOLS_FILE) and of asking who signed in", async () => {
    const catalog = join(dir, "genie-only.json");
    const entry = {
      name: "ask_sales",
      kind: "genie",
      title: "Ask sales",
      description: "Asks the sales Genie space a question in plain words.",
      space: "${workspace.genieSpaceId}",
    };
    writeFileSync(catalog, JSON.stringify({ tools: [entry] }));
    let scope: string | null = null;
    await runLogin({
      env: localEnv({ MCP_TOOLS_FILE: catalog }, "login-catalog"),
      openUrl: async (url) => {
        scope = new URL(url).searchParams.get("scope");
        await (
          await approveAs("erin.exec@example.com")
        )(url);
      },
      print: () => {},
    });
    expect(scope).toBe("dashboards.genie iam.current-user:read offline_access");
  });

  it("ignores a callback with another state, and fails cleanly when the workspace refuses the login", async () => {
    const env = localEnv({}, "login-refused");
    const login = runLogin({
      env,
      print: () => {},
      openUrl: async (url) => {
        const q = new URL(url).searchParams;
        const callback = new URL(q.get("redirect_uri")!);
        callback.search = new URLSearchParams({ code: "forged", state: "not-this-attempt" }).toString();
        expect((await fetch(callback)).status).toBe(400);
        callback.search = new URLSearchParams({ error: "access_denied", state: q.get("state")! }).toString();
        await fetch(callback);
      },
    });
    await expect(login).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
      message: expect.stringContaining("access_denied"),
    });
    expect(() => statSync(env.MCP_LOGIN_CACHE_FILE!)).toThrow();
  });

  it("refreshes an expired saved login with its refresh token and saves the new tokens", async () => {
    const env = localEnv({}, "refresh");
    const { cacheFile } = await runLogin({ env, openUrl: await approveAs("ada.admin@example.com"), print: () => {} });
    const file = JSON.parse(readFileSync(cacheFile, "utf8"));
    const old = file.logins[workspace.baseUrl];
    old.expiresAt = Math.floor(Date.now() / 1000) - 10;
    writeFileSync(cacheFile, JSON.stringify(file), { mode: 0o600 });

    const before = workspace.counters.tokenRequests.get("refresh_token|ada.admin@example.com") ?? 0;
    const resolver = createCredentialResolver(loadConfig(env), { tools: ALL_TOOLS, logger: pino({ level: "silent" }) });
    const caller = await resolver.resolve({ transport: "stdio", headers: {} });
    const token = await caller.credential.token();
    expect(workspace.counters.tokenRequests.get("refresh_token|ada.admin@example.com")).toBe(before + 1);
    expect(token.accessToken).not.toBe(old.accessToken);
    const saved = JSON.parse(readFileSync(cacheFile, "utf8")).logins[workspace.baseUrl];
    expect(saved.accessToken).toBe(token.accessToken);
    expect(saved.refreshToken).not.toBe(old.refreshToken);
    expect(saved.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);
  });

  it("refuses a stdio start with no local identity at all, naming the ways to get one", async () => {
    const env = localEnv({}, "none");
    delete env.DATABRICKS_CLIENT_ID;
    delete env.DATABRICKS_CLIENT_SECRET;
    const resolver = createCredentialResolver(loadConfig(env), { tools: ALL_TOOLS, logger: pino({ level: "silent" }) });
    await expect(resolver.resolve({ transport: "stdio", headers: {} })).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
      message: expect.stringContaining("login"),
    });
  });
});

describe("whoami", () => {
  it("prints who the workspace says the saved login is, with mode and source, and no token", async () => {
    const env = localEnv({}, "whoami");
    await runLogin({ env, openUrl: await approveAs("maria.manager@example.com"), print: () => {} });
    const report = await runWhoami({ env });
    expect(report).toMatchObject({
      workspace: workspace.baseUrl,
      mode: "u2m",
      credential_source: "login-cache",
      principal: "maria.manager@example.com",
      display_name: "Maria Manager",
    });
    expect(report.groups).toContain("managers");
    expect(JSON.stringify(report)).not.toMatch(/eyJ[\w-]+\./);
  });

  it("reports a ~/.databrickscfg profile's service principal as M2M from the profile", async () => {
    const sp = workspace.context.seed.servicePrincipals.find((s) => s.displayName === "fed-exchange-sp-finance")!;
    const env = localEnv({ DATABRICKS_CONFIG_PROFILE: "automation" }, "whoami-profile");
    writeFileSync(
      env.DATABRICKS_CONFIG_FILE!,
      `[automation]\nhost = ${workspace.baseUrl}\nclient_id = ${sp.applicationId}\nclient_secret = ${sp.secret}\n`,
    );
    const report = await runWhoami({ env });
    expect(report).toMatchObject({ mode: "m2m", credential_source: "profile", principal: sp.applicationId });
  });

  it("refuses a profile issued for another host rather than sending its secret there", async () => {
    const env = localEnv({ DATABRICKS_CONFIG_PROFILE: "other" }, "whoami-other");
    writeFileSync(
      env.DATABRICKS_CONFIG_FILE!,
      `[other]\nhost = https://elsewhere.example.com\ntoken = dapi-not-real\n`,
    );
    await expect(runWhoami({ env })).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
      message: expect.stringContaining("elsewhere.example.com"),
    });
  });
});
