import { describe, expect, it } from "vitest";
import { createPatStrategy } from "../../../src/identity/strategies/pat.js";

describe("PAT credential", () => {
  it("has its token in hand: current() gives what token() would, with nothing to wait for", async () => {
    const caller = await createPatStrategy("dapi-local-token").resolve({ headers: {} } as never);
    const now = Math.floor(Date.now() / 1000);
    const inHand = caller.credential.current?.();
    expect(inHand).toMatchObject({ accessToken: "dapi-local-token", scopes: ["all-apis"] });
    expect(inHand!.expiresAt).toBeGreaterThan(now);
    expect(await caller.credential.token()).toEqual({ ...inHand, expiresAt: expect.any(Number) });
  });
});
