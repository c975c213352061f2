import { describe, expect, it } from "vitest";
import type { CallerIdentity, ResolvedCaller } from "../../../src/identity/types.js";
import { claimOf } from "../../../tools/kinds/bound-parameters.js";

const caller = (identity: Partial<CallerIdentity>): ResolvedCaller => ({
  identity: { mode: "obo", source: "bearer", scopes: [], ...identity },
  credential: { token: async () => ({ accessToken: "", expiresAt: 0, scopes: [] }) },
});

describe("values bound from the verified caller", () => {
  it.each([
    ["an OBO user's email", { human: "a@example.com" }, "email", "a@example.com"],
    [
      "a Federation caller's verified email claim",
      { mode: "federation", human: "sub-1", email: "b@example.com" },
      "email",
      "b@example.com",
    ],
    [
      "no email for a Federation subject that looks like one",
      { mode: "federation", human: "c@example.com" },
      "email",
      undefined,
    ],
    ["no email for a service principal", { mode: "m2m", expectedPrincipal: "sp-1" }, "email", undefined],
    ["the Federation role", { mode: "federation", role: "west_sales" }, "role", "west_sales"],
    ["the workspace principal", { expectedPrincipal: "sp-2" }, "principal", "sp-2"],
    ["the issuer", { mode: "federation", issuer: "https://idp.example.com/" }, "issuer", "https://idp.example.com/"],
  ] as const)("gives %s", (_case, identity, claim, value) => {
    expect(claimOf(caller(identity as Partial<CallerIdentity>), claim)).toBe(value);
  });
});
