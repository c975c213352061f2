import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_PSEUDONYM_SALT, pseudonymFor, pseudonyms } from "../../src/audit/pseudonym.js";
import { loadConfig } from "../../src/config/load.js";

const A = "https://idp-a.example.com";
const B = "https://idp-b.example.com";
const required = { DATABRICKS_WAREHOUSE_ID: "wh", DATABRICKS_GENIE_SPACE_ID: "space" };

describe("the pseudonym of a human in query tags", () => {
  it("is the pair (issuer, subject) for a Federation human: one sub from two IdPs is two humans", () => {
    expect(pseudonymFor("wendy.west", { issuer: A })).not.toBe(pseudonymFor("wendy.west", { issuer: B }));
    expect(pseudonymFor("wendy.west", { issuer: A })).toBe(pseudonymFor("wendy.west", { issuer: A }));
    expect(pseudonymFor("wendy.west", { issuer: A })).not.toBe(pseudonymFor("wendy.west"));
  });

  it("keeps the issuer and the subject apart: no split of one string into the two names the same pair", () => {
    expect(pseudonymFor("b", { issuer: "a:" })).not.toBe(pseudonymFor(":b", { issuer: "a" }));
  });

  it("stays what it was for a human without issuer (an email, compared case-insensitively)", () => {
    const earlier = `h_${createHash("sha256").update(`${DEFAULT_PSEUDONYM_SALT}:olivia.obo@example.com`).digest("hex").slice(0, 16)}`;
    expect(pseudonymFor("Olivia.OBO@example.com")).toBe(earlier);
  });

  it("depends on the salt, and names no human when there is none", () => {
    expect(pseudonymFor("wendy.west", { issuer: A, salt: "s1" })).not.toBe(
      pseudonymFor("wendy.west", { issuer: A, salt: "s2" }),
    );
    expect(pseudonymFor(undefined, { issuer: A })).toBe("none");
  });

  it("is the same when remembered under the server's salt, past the memo's bound", () => {
    const remembered = pseudonyms("s1", 2);
    const humans = ["wendy.west", "Olivia.OBO@example.com", "ed.east", "wendy.west"];
    for (const issuer of [A, undefined])
      for (const human of humans)
        expect(remembered(human, issuer)).toBe(pseudonymFor(human, { salt: "s1", ...(issuer ? { issuer } : {}) }));
    expect(remembered(undefined, A)).toBe("none");
  });
});

describe("the pseudonym salt setting", () => {
  it("comes from MCP_PSEUDONYM_SALT through the configuration, with the default when unset", () => {
    expect(loadConfig({ ...required, MCP_PSEUDONYM_SALT: "salt-of-this-deployment" }).audit.pseudonymSalt).toBe(
      "salt-of-this-deployment",
    );
    expect(loadConfig(required).audit.pseudonymSalt).toBe(DEFAULT_PSEUDONYM_SALT);
  });

  it("refuses an empty salt, naming the variable", () => {
    expect(() => loadConfig({ ...required, MCP_PSEUDONYM_SALT: "" })).toThrow(/MCP_PSEUDONYM_SALT must not be empty/);
  });
});
