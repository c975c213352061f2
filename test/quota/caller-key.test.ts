import { describe, expect, it } from "vitest";
import { quotaCallerKey, quotaCallerKeys } from "../../src/quota/caller-key.js";
import type { CallerIdentity } from "../../src/identity/types.js";

const base = { scopes: [] } as const;
const federated = (issuer: string, human: string): CallerIdentity => ({
  ...base,
  scopes: [],
  mode: "federation",
  source: "exchange",
  issuer,
  human,
  role: "west_sales",
  expectedPrincipal: "sp-west",
});

describe("the quota caller key", () => {
  it("is the human under Federation: one subject at two issuers is two callers, one role's humans are not one", () => {
    const a = quotaCallerKey(federated("https://idp-a.example", "u1"));
    expect(quotaCallerKey(federated("https://idp-a.example", "u1"))).toBe(a);
    expect(quotaCallerKey(federated("https://idp-b.example", "u1"))).not.toBe(a);
    expect(quotaCallerKey(federated("https://idp-a.example", "u2"))).not.toBe(a);
  });

  it("is the user under OBO and the local modes alike, and the service principal under M2M", () => {
    const obo = quotaCallerKey({ ...base, scopes: [], mode: "obo", source: "bearer", human: "ann@example.com" });
    const u2m = quotaCallerKey({ ...base, scopes: [], mode: "u2m", source: "login-cache", human: "ann@example.com" });
    expect(u2m).toBe(obo);
    const m2m = quotaCallerKey({
      ...base,
      scopes: [],
      mode: "m2m",
      source: "client-credentials",
      expectedPrincipal: "sp-1",
    });
    const other = quotaCallerKey({
      ...base,
      scopes: [],
      mode: "m2m",
      source: "client-credentials",
      expectedPrincipal: "sp-2",
    });
    expect(m2m).not.toBe(other);
    expect(m2m).not.toBe(obo);
  });

  it("names no person: the key is a digest, fit for a shared store's key column", () => {
    const key = quotaCallerKey({ ...base, scopes: [], mode: "obo", source: "bearer", human: "ann@example.com" });
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain("ann");
  });

  it("puts callers the server cannot name into one bucket per mode rather than none", () => {
    const a = quotaCallerKey({ ...base, scopes: [], mode: "obo", source: "bearer" });
    const b = quotaCallerKey({ ...base, scopes: [], mode: "obo", source: "bearer" });
    expect(a).toBe(b);
  });

  it("is the same when remembered, past the memo's bound", () => {
    const remembered = quotaCallerKeys(1);
    const callers = [federated("https://idp-a.example", "u1"), federated("https://idp-b.example", "u1")];
    for (const caller of [...callers, ...callers]) expect(remembered(caller)).toBe(quotaCallerKey(caller));
  });
});
