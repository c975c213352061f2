import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { runIsolationLoad } from "./isolation-run.js";
import { recordFigure } from "./figures.js";

/** `npm test` runs a short load; `npm run soak` sets SOAK_CALLS (5,000 by default there). */
const CALLS = Number(process.env.SOAK_CALLS ?? 600);
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let stack: TestStack;

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  // M2M over HTTP is on here so that the server's own identity is one of the interleaved callers.
  stack = await startTestStack({ overrides: { identity: { m2m: { allowHttpCallers: true } } } });
});
afterAll(async () => {
  await stack?.stop();
  process.off("unhandledRejection", onUnhandled);
});

describe(`isolation under load (${CALLS} interleaved calls, 64 in flight)`, () => {
  it("answers every caller with only its own identity, rows and masks: leaks = 0", async () => {
    const report = await runIsolationLoad(stack, CALLS, 64);
    recordFigure(
      "isolation: interleaved tool calls over HTTP",
      report.calls,
      `${Object.keys(report.byCaller).length} callers`,
    );
    recordFigure("isolation: rows checked against the caller's entitlement", report.rowsChecked);
    recordFigure("isolation: leaks", report.leaks.length);
    recordFigure("isolation: unhandled rejections", unhandled.length);
    recordFigure("isolation: calls that timed out under load (clear TIMEOUT error)", report.timeouts);
    expect(report.leaks.slice(0, 10)).toEqual([]);
    expect(report.unexpectedErrors.slice(0, 20)).toEqual([]);
    expect(report.calls).toBe(CALLS);
    // A queued call may run out of its deadline on a loaded machine; that is an answer, but it must stay rare.
    expect(report.timeouts).toBeLessThanOrEqual(Math.ceil(CALLS * 0.02));
    // Not vacuous: every caller took part, and rows were actually returned and checked.
    expect(Object.keys(report.byCaller)).toHaveLength(11);
    expect(report.rowsChecked).toBeGreaterThan(CALLS);
    expect(report.refusalsExpected).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
  }, 600_000);
});
