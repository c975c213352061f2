import { readFileSync } from "node:fs";
import { format } from "prettier";
import { describe, expect, it } from "vitest";
import { errorCodesMarkdown } from "../scripts/docs/error-codes.js";
import {
  ERROR_CLASSES,
  ErrorCodes,
  GovernedError,
  PolicyError,
  auditOutcomeFor,
  httpStatusFor,
} from "../src/errors.js";

describe("one table decides each error code's status, outcome and advice", () => {
  it("gives every code a class", () => {
    expect(Object.keys(ERROR_CLASSES).sort()).toEqual(Object.values(ErrorCodes).sort());
  });

  it.each([
    ["TOKEN_INVALID", 401],
    ["CREDENTIALS_CONFLICT", 401],
    ["SCOPE_MISSING", 403],
    ["RATE_LIMITED", 429],
    ["AUDIT_UNAVAILABLE", 503],
  ] as const)("answers %s with HTTP %i at the door", (code, status) => {
    expect(httpStatusFor(code)).toBe(status);
  });

  it("audits a policy refusal as denied whatever its code, and others by their class", () => {
    expect(auditOutcomeFor(new PolicyError(ErrorCodes.NOT_FOUND, "no"))).toBe("denied");
    expect(auditOutcomeFor(new GovernedError(ErrorCodes.NOT_FOUND, "no"))).toBe("failed");
    expect(auditOutcomeFor(new GovernedError(ErrorCodes.ACCESS_DENIED, "no"))).toBe("denied");
    expect(auditOutcomeFor(new GovernedError(ErrorCodes.CANCELLED, "no"))).toBe("cancelled");
  });

  it("keeps docs/errors.md as generated from the table", async () => {
    const expected = await format(errorCodesMarkdown(), { parser: "markdown", proseWrap: "preserve" });
    const onDisk = await format(readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8"), {
      parser: "markdown",
      proseWrap: "preserve",
    });
    expect(onDisk, "regenerate: npx tsx scripts/docs/error-codes.ts > docs/errors.md").toBe(expected);
  });
});
