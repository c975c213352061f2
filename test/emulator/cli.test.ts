import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";

// `npm run emulator -- --port 0` as a user runs it: one JSON line on stdout, a clean exit on SIGINT or SIGTERM.

interface Started {
  child: ChildProcessWithoutNullStreams;
  banner: Record<string, unknown>;
  stderr: () => string;
}

async function startCli(...args: string[]): Promise<Started> {
  const child = spawn(process.execPath, ["--import", "tsx", "emulator/cli.ts", ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(([code]) => {
      throw new Error(`emulator exited with ${String(code)} before printing: ${stderr}`);
    }),
  ])) as [string];
  return { child, banner: JSON.parse(first) as Record<string, unknown>, stderr: () => stderr };
}

async function stop(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals) {
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill(signal);
  const [code, bySignal] = await exited;
  return { code, bySignal };
}

describe("npm run emulator", () => {
  it("prints one JSON line naming the base URL, the IdP issuer and the demo identities, then exits 0 on SIGTERM", async () => {
    const { child, banner, stderr } = await startCli("--port", "0");
    try {
      expect(banner.base_url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
      expect(banner.idp_issuer).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
      expect(banner).toMatchObject({
        warehouse_id: "4b9f1e2a7c3d5e60",
        genie_space_id: "01f0a1b2c3d4e5f60718293a4b5c6d7e",
        vector_index: "main.knowledge.docs_index",
        serving_endpoint: "sales-supervisor-agent",
      });
      const sps = banner.service_principals as {
        display_name: string;
        client_id: string;
        federation_policies: { issuer: string }[];
      }[];
      expect(sps.map((sp) => sp.display_name)).toContain("fed-exchange-sp-west-sales");
      // "local-idp" in the seed is printed as the running IdP's real issuer.
      expect(sps[0]!.federation_policies[0]!.issuer).toBe(banner.idp_issuer);
      expect((banner.users as { user_name: string }[]).map((u) => u.user_name)).toContain("wendy.west@example.com");

      const discovery = await fetch(`${String(banner.base_url)}/oidc/.well-known/oauth-authorization-server`);
      expect(discovery.status).toBe(200);
      expect(((await discovery.json()) as { issuer: string }).issuer).toBe(`${String(banner.base_url)}/oidc`);
    } finally {
      expect(await stop(child, "SIGTERM")).toEqual({ code: 0, bySignal: null });
    }
    expect(stderr()).toBe("");
    await expect(fetch(`${String(banner.base_url)}/oidc/v1/keys`)).rejects.toThrow();
  });

  it("issues IdP tokens for each --mcp-resource (as their audience) and refuses any other resource", async () => {
    const resource = "http://127.0.0.1:4321/mcp";
    const { child, banner } = await startCli("--port", "0", "--mcp-resource", resource);
    try {
      const client = (banner.idp_clients as { client_id: string; client_secret: string }[])[0]!;
      const ask = (asked: string) =>
        fetch(`${String(banner.idp_issuer)}/token`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64")}`,
          },
          body: new URLSearchParams({ grant_type: "client_credentials", resource: asked }),
        });
      const granted = await ask(resource);
      expect(granted.status).toBe(200);
      const { access_token } = (await granted.json()) as { access_token: string };
      expect(JSON.parse(Buffer.from(access_token.split(".")[1]!, "base64url").toString()).aud).toBe(resource);
      const refused = await ask("http://127.0.0.1:3000/mcp");
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: "invalid_target" });
    } finally {
      await stop(child, "SIGTERM");
    }
  });

  // The signal is sent the moment the banner arrives: the handlers must already be in place.
  it("exits 0 on SIGINT (Ctrl-C)", async () => {
    const { child } = await startCli("--port", "0");
    expect(await stop(child, "SIGINT")).toEqual({ code: 0, bySignal: null });
  });

  for (const [args, reason] of [
    [["--port", "70000"], '--port must be a port number (0-65535), got "70000"'],
    [["--bogus"], "Unknown option '--bogus'"],
    [["--max-run-time-s", "0"], '--max-run-time-s must be whole seconds from 1 to 172800, got "0"'],
  ] as const) {
    it(`refuses ${args.join(" ")} with exit code 2 and a one-line reason, no stack trace`, async () => {
      const child = spawn(process.execPath, ["--import", "tsx", "emulator/cli.ts", ...args], {
        env: { PATH: process.env.PATH ?? "" },
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, "exit")) as [number];
      expect(code).toBe(2);
      expect(stderr.trim()).toContain(reason);
      expect(stderr).not.toMatch(/\n\s+at /);
    });
  }
});
