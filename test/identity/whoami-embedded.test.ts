import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runWhoami } from "../../src/cli/whoami.js";

describe("whoami with the embedded local workspace", () => {
  it("names the demo user the stdio server acts as (not the server's service principal) and where audit goes", async () => {
    const home = mkdtempSync(join(tmpdir(), "governed-mcp-whoami-"));
    const report = await runWhoami({
      env: { HOME: home, MCP_LOGIN_CACHE_FILE: join(home, "tokens.json"), MCP_AUDIT_SPOOL_DIR: join(home, "spool") },
    });
    expect(report).toMatchObject({ mode: "pat", principal: "maria.manager@example.com" });
    expect(report.audit).toMatch(/^audit table .* written by service principal /);
  });
});
