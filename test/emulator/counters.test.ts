import { describe, expect, it } from "vitest";
import { Counters, STATEMENT_LOG_LIMIT } from "../../emulator/faults.js";

const statement = (n: number) => ({ principal: "p", statement: `SELECT ${n}`, parameters: [] });

describe("the local workspace's statement log", () => {
  it("keeps the most recent statements within its bound while counting every one", () => {
    const counters = new Counters();
    const total = STATEMENT_LOG_LIMIT * 3 + 7;
    for (let n = 0; n < total; n++) {
      counters.countStatement(statement(n));
      expect(counters.statements.length).toBeLessThanOrEqual(STATEMENT_LOG_LIMIT * 1.1);
    }
    expect(counters.statementsReceived).toBe(total);
    expect(counters.statements.length).toBeGreaterThanOrEqual(STATEMENT_LOG_LIMIT);
    // Oldest first, with no gap: the log is the tail of what was received.
    const first = total - counters.statements.length;
    expect(counters.statements.map((s) => s.statement)).toEqual(
      Array.from({ length: counters.statements.length }, (_, i) => `SELECT ${first + i}`),
    );
  });

  it("keeps everything below the bound, and a reset empties both", () => {
    const counters = new Counters();
    for (let n = 0; n < 5; n++) counters.countStatement(statement(n));
    expect(counters.statements.map((s) => s.statement)).toEqual([
      "SELECT 0",
      "SELECT 1",
      "SELECT 2",
      "SELECT 3",
      "SELECT 4",
    ]);
    counters.reset();
    expect(counters.statements).toEqual([]);
    expect(counters.statementsReceived).toBe(0);
  });
});
