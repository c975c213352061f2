import { describe, expect, it } from "vitest";
import { perCallerMemo } from "../../src/identity/per-caller-memo.js";

describe("a per-caller memo", () => {
  it("computes a returning caller's value once, and forgets the least recent caller beyond its bound", () => {
    const computed: string[] = [];
    const memo = perCallerMemo(2, (input) => {
      computed.push(input);
      return input.toUpperCase();
    });
    expect([memo("ann"), memo("bob"), memo("ann")]).toEqual(["ANN", "BOB", "ANN"]);
    expect(computed).toEqual(["ann", "bob"]);
    // A third caller evicts the least recently seen one (bob), not ann, who came back.
    expect(memo("cy")).toBe("CY");
    expect(memo("ann")).toBe("ANN");
    expect(memo("bob")).toBe("BOB");
    expect(computed).toEqual(["ann", "bob", "cy", "bob"]);
  });
});
