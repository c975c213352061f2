import { describe, expect, it } from "vitest";
import { statementFailure } from "../../src/databricks/workspace-api.js";

describe("a FAILED statement becomes a code an agent can act on", () => {
  it("maps the error class in the message (error_code BAD_REQUEST) to ACCESS_DENIED", () => {
    const err = statementFailure({
      error_code: "BAD_REQUEST",
      message: "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User x does not have SELECT on table t.",
    });
    expect(err.code).toBe("ACCESS_DENIED");
    expect(err.message).toMatch(/Unity Catalog denied .* retrying will not help/);
  });

  it("maps PERMISSION_DENIED in error_code to ACCESS_DENIED", () => {
    expect(statementFailure({ error_code: "PERMISSION_DENIED", message: "no" }).code).toBe("ACCESS_DENIED");
  });

  it("maps a missing or invisible table to NOT_FOUND", () => {
    const err = statementFailure({ error_code: "BAD_REQUEST", message: "[TABLE_OR_VIEW_NOT_FOUND] main.x.y" });
    expect(err.code).toBe("NOT_FOUND");
  });

  it("maps the warehouse's own time limit to TIMEOUT", () => {
    const err = statementFailure({
      error_code: "DEADLINE_EXCEEDED",
      message: "[QUERY_EXECUTION_TIMEOUT_EXCEEDED] canceling statement due to statement timeout SQLSTATE: 57014",
    });
    expect(err.code).toBe("TIMEOUT");
  });

  it("maps anything else to QUERY_FAILED and cuts a long message", () => {
    const err = statementFailure({ error_code: "BAD_REQUEST", message: `[DIVIDE_BY_ZERO] ${"x".repeat(5000)}` });
    expect(err.code).toBe("QUERY_FAILED");
    expect(err.message.length).toBeLessThan(400);
  });
});
