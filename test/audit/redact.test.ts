import { describe, expect, it } from "vitest";
import { redactArguments } from "../../src/audit/redact.js";

describe("redactArguments (what an audit row may hold of a call's arguments)", () => {
  it("removes values under secret-looking keys, at any depth", () => {
    const out = redactArguments(
      {
        question: "q",
        token: "abc",
        nested: { client_secret: "s", Authorization: "Bearer x", list: [{ password: "p" }] },
      },
      100,
    );
    expect(out).toEqual({
      question: "q",
      token: "[redacted]",
      nested: { client_secret: "[redacted]", Authorization: "[redacted]", list: [{ password: "[redacted]" }] },
    });
  });

  it("removes values that look like a JWT or a Databricks token, whatever the key", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    expect(redactArguments({ note: jwt, other: `dapi${"0a".repeat(16)}` }, 100)).toEqual({
      note: "[redacted]",
      other: "[redacted]",
    });
  });

  it("cuts long strings and says how much was cut", () => {
    const out = redactArguments({ question: "x".repeat(1000) }, 10) as { question: string };
    expect(out.question).toBe(`${"x".repeat(10)}…[cut 990 chars]`);
  });

  it("bounds arrays, depth and cycles instead of throwing", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(redactArguments(cyclic, 10)).toEqual({ a: 1, self: "[cycle]" });
    const long = redactArguments(
      Array.from({ length: 60 }, (_, i) => i),
      10,
    ) as unknown[];
    expect(long).toHaveLength(51);
    expect(long.at(-1)).toBe("[10 more]");
    let deep: unknown = "bottom";
    for (let i = 0; i < 10; i += 1) deep = { d: deep };
    expect(JSON.stringify(redactArguments(deep, 10))).toContain("[too deep]");
  });
});
