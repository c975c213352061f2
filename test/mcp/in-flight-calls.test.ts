import { describe, expect, it } from "vitest";
import type { CallerIdentity } from "../../src/identity/types.js";
import { InFlightCalls } from "../../src/mcp/in-flight-calls.js";
import { linkedAbort } from "../../src/linked-abort.js";

const viaIssuerA: CallerIdentity = {
  mode: "federation",
  source: "exchange",
  human: "wendy.west",
  issuer: "https://idp-a.example.com",
  role: "west_sales",
  expectedPrincipal: "sp-west",
  scopes: ["sql"],
};
const viaIssuerB: CallerIdentity = { ...viaIssuerA, issuer: "https://idp-b.example.com" };

describe("in-flight calls", () => {
  it("are cancelled by their own caller", () => {
    const calls = new InFlightCalls();
    const running = calls.register(InFlightCalls.callerKey(viaIssuerA), 7);
    expect(calls.cancel(InFlightCalls.callerKey({ ...viaIssuerA }), 7)).toBe(1);
    expect(running.signal.aborted).toBe(true);
    running.release();
    expect(calls.size).toBe(0);
  });

  it("are never cancelled by the same subject, role and principal verified by another issuer", () => {
    const calls = new InFlightCalls();
    const running = calls.register(InFlightCalls.callerKey(viaIssuerA), 7);
    expect(InFlightCalls.callerKey(viaIssuerB)).not.toBe(InFlightCalls.callerKey(viaIssuerA));
    expect(calls.cancel(InFlightCalls.callerKey(viaIssuerB), 7)).toBe(0);
    expect(calls.cancel(InFlightCalls.callerKey({ ...viaIssuerA, issuer: undefined }), 7)).toBe(0);
    expect(running.signal.aborted).toBe(false);
    running.release();
  });

  it("cancel the signal a call already runs under when it registers one, making none of its own", () => {
    const calls = new InFlightCalls();
    const connection = new AbortController();
    const linked = linkedAbort([connection.signal]);
    const running = calls.register(InFlightCalls.callerKey(viaIssuerA), "call-1", linked);
    expect(running.signal).toBe(linked.signal);
    expect(calls.cancel(InFlightCalls.callerKey(viaIssuerA), "call-1", "stop")).toBe(1);
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe("stop");
    running.release();
    expect(calls.size).toBe(0);
  });
});
