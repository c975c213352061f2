import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { AuditTrail } from "../../src/audit/audit-trail.js";
import { loadConfig } from "../../src/config/load.js";
import { ErrorCodes, IdentityError } from "../../src/errors.js";
import { FakeClock } from "../support/fake-clock.js";

function capturingLogger() {
  const lines: { level: number; msg: string; err?: { code?: string; message?: string } }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").trim().split("\n")) lines.push(JSON.parse(line) as never);
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

describe("an audit writer whose credentials the workspace refuses", () => {
  it("names invalid_client once as a configuration error and backs off, also while draining at stop", async () => {
    const config = loadConfig({
      DATABRICKS_HOST: "https://x.cloud.databricks.com",
      DATABRICKS_WAREHOUSE_ID: "w",
      DATABRICKS_GENIE_SPACE_ID: "g",
      MCP_TRANSPORT: "http",
      MCP_AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), "governed-mcp-writer-creds-")),
    });
    const { logger, lines } = capturingLogger();
    let attempts = 0;
    const refused = async () => {
      attempts += 1;
      throw new IdentityError(
        ErrorCodes.CONFIG_INVALID,
        "The workspace refused the client credentials grant (invalid_client): check DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET.",
      );
    };
    const clock = new FakeClock();
    const trail = new AuditTrail(config, logger, refused, { clock });
    await trail.record({
      requestId: "r1",
      mode: "obo",
      credentialSource: "bearer",
      tool: "check_identity",
      arguments: {},
      outcome: "allowed",
      latencyMs: 1,
      statementIds: [],
    });
    for (let n = 0; n < 3; n += 1) await trail.drainOnce();
    await clock.drive(trail.stop());

    const named = lines.filter((l) => l.level >= 40 && /audit batch not written/.test(l.msg));
    expect(named).toHaveLength(1);
    expect(named[0]!.err).toMatchObject({ code: "CONFIG_INVALID", message: expect.stringContaining("invalid_client") });
    // The five seconds of the last drain double their pause from 100 ms: a handful of attempts, not fifty.
    expect(attempts).toBeLessThanOrEqual(3 + 7);
    expect(trail.depth()).toBe(1);
  });
});
