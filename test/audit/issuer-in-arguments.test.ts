import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { splitVerifiedIssuer, withVerifiedIssuer } from "../../src/audit/issuer-in-arguments.js";
import { boundedArguments, carriedBytes } from "../../src/audit/record-bounds.js";
import { canonicalArguments } from "../../src/audit/redact.js";

const A = "https://idp-a.example.com";

describe("the verified issuer in an audit record's arguments", () => {
  it("is added as $issuer beside a Federation caller's arguments", () => {
    expect(withVerifiedIssuer({ question: "q" }, { issuer: A })).toEqual({ $issuer: A, question: "q" });
    expect(JSON.stringify(withVerifiedIssuer({}, { issuer: A }))).toBe(`{"$issuer":"${A}"}`);
  });

  it("leaves the arguments of a caller without issuer as they are", () => {
    const args = { question: "q" };
    expect(withVerifiedIssuer(args, {})).toBe(args);
    expect(withVerifiedIssuer(args, undefined)).toBe(args);
    expect(withVerifiedIssuer("not an object", undefined)).toBe("not an object");
  });

  it("never lets a $issuer the caller sent stand as the verified one: those arguments are kept under $arguments", () => {
    const forged = { $issuer: "https://idp-b.example.com", question: "q" };
    expect(withVerifiedIssuer(forged, { issuer: A })).toEqual({ $issuer: A, $arguments: forged });
    expect(withVerifiedIssuer(forged, {})).toEqual({ $issuer: null, $arguments: forged });
    const nested = { $arguments: "mine", question: "q" };
    expect(withVerifiedIssuer(nested, { issuer: A })).toEqual({ $issuer: A, $arguments: nested });
    expect(splitVerifiedIssuer(withVerifiedIssuer(nested, { issuer: A }))).toEqual({ issuer: A, sent: nested });
  });

  it("keeps arguments that are not an object under $arguments beside the issuer", () => {
    expect(withVerifiedIssuer(["x"], { issuer: A })).toEqual({ $issuer: A, $arguments: ["x"] });
  });
});

describe("arguments too large for their record", () => {
  const sent = {
    question: "x".repeat(400),
    list: Array.from({ length: 40 }, (_, i) => `item-${i}-${"y".repeat(300)}`),
  };
  const budget = 4096;

  it("keep the verified issuer queryable beside the summary, whose digest and preview are of what the caller sent", () => {
    const column = boundedArguments(withVerifiedIssuer(sent, { issuer: A }), 512, budget);
    expect(carriedBytes(column)).toBeLessThanOrEqual(budget);
    const kept = JSON.parse(column) as {
      $issuer: string;
      $summary: { sha256: string; bytes: number; preview: string };
    };
    expect(kept.$issuer).toBe(A);
    expect(kept.$summary.sha256).toBe(createHash("sha256").update(canonicalArguments(sent)).digest("hex"));
    expect(kept.$summary.bytes).toBe(Buffer.byteLength(canonicalArguments(sent)));
    expect(kept.$summary.preview.startsWith(`{"question":"xxx`)).toBe(true);
  });

  it("summarise as before for a caller without issuer", () => {
    const kept = JSON.parse(boundedArguments(withVerifiedIssuer(sent, {}), 512, budget)) as Record<string, unknown>;
    expect(Object.keys(kept)).toEqual(["$summary"]);
  });
});
