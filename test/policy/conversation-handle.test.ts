import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ConversationHandles, MAX_HANDLE_CHARS, type ConversationOwner } from "../../src/policy/conversation-handle.js";

const SECRET = "a-shared-handle-secret-of-at-least-32-bytes";
const CONVERSATION = "01f0a1b2c3d4e5f60718293a4b5c6d7e";
const wendy: ConversationOwner = {
  spaceId: "space-1",
  identity: {
    mode: "federation",
    human: "wendy.west",
    issuer: "https://idp-a.example.com",
    expectedPrincipal: "sp-west",
  },
};
const withIdentity = (change: Partial<ConversationOwner["identity"]>): ConversationOwner => ({
  ...wendy,
  identity: { ...wendy.identity, ...change },
});

describe("conversation handles", () => {
  const handles = ConversationHandles.withSecret(SECRET);
  const handle = handles.issue(CONVERSATION, wendy);

  it("open to the conversation for the owner they were issued to", () => {
    expect(handle).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(handle).not.toContain(CONVERSATION);
    expect(handles.open(handle, wendy)).toEqual({ conversationId: CONVERSATION });
  });

  it("open on another replica holding the same secret", () => {
    expect(ConversationHandles.withSecret(SECRET).open(handle, wendy)).toEqual({ conversationId: CONVERSATION });
  });

  it.each([
    ["another human of the same role (same service principal)", withIdentity({ human: "walt.west" })],
    [
      "the same subject from another issuer (same role and principal)",
      withIdentity({ issuer: "https://idp-b.example.com" }),
    ],
    ["the same subject from the issuer with a trailing slash", withIdentity({ issuer: "https://idp-a.example.com/" })],
    ["the same subject with no issuer", withIdentity({ issuer: undefined })],
    ["the same human under another principal", withIdentity({ expectedPrincipal: "sp-east" })],
    ["the same human in another mode", withIdentity({ mode: "obo" })],
    ["a caller naming no human", withIdentity({ human: undefined })],
    ["another Genie space", { ...wendy, spaceId: "space-2" }],
  ])("are foreign to %s", (_, other) => {
    expect(handles.open(handle, other)).toEqual({ refused: "foreign" });
  });

  it("tell an absent human from an empty one", () => {
    const nobody = withIdentity({ human: undefined });
    expect(handles.open(handles.issue(CONVERSATION, nobody), withIdentity({ human: "" }))).toEqual({
      refused: "foreign",
    });
  });

  it("are foreign under another key, or an ephemeral one", () => {
    expect(ConversationHandles.withSecret(`${SECRET}-other`).open(handle, wendy)).toEqual({ refused: "foreign" });
    expect(ConversationHandles.ephemeral().open(handle, wendy)).toEqual({ refused: "foreign" });
  });

  it("never open once any one character is changed", () => {
    for (let i = 0; i < handle.length; i += 1) {
      const swapped = handle[i] === "A" ? "B" : "A";
      const tampered = `${handle.slice(0, i)}${swapped}${handle.slice(i + 1)}`;
      expect(handles.open(tampered, wendy), `position ${i}`).toHaveProperty("refused");
    }
  });

  it.each([
    ["a raw Genie conversation id", CONVERSATION],
    ["a word", "no-such-conversation"],
    ["the empty string", ""],
    ["a handle cut short", handle.slice(0, 40)],
    ["a handle with padding", `${handle}=`],
    ["a handle past the length bound", "A".repeat(MAX_HANDLE_CHARS + 4)],
  ])("refuse %s as malformed", (_, value) => {
    expect(handles.open(value, wendy)).toEqual({ refused: "malformed" });
  });

  it.each([
    ["version 1, which bound the subject without its issuer", 1],
    ["a later version", 3],
  ])("refuse a handle of another layout version as malformed: %s", (_, version) => {
    const bytes = Buffer.from(handle, "base64url");
    bytes[0] = version;
    expect(handles.open(bytes.toString("base64url"), wendy)).toEqual({ refused: "malformed" });
  });

  it("fit the length bound for the longest conversation id, and refuse to wrap an id of an unknown form", () => {
    expect(handles.issue("f".repeat(128), wendy).length).toBeLessThanOrEqual(MAX_HANDLE_CHARS);
    expect(() => handles.issue("x".repeat(129), wendy)).toThrow(/unknown form/);
    expect(() => handles.issue("../other", wendy)).toThrow(/unknown form/);
  });

  it("need a key of at least 32 bytes", () => {
    expect(() => ConversationHandles.withSecret("short")).toThrow(/at least 32 bytes/);
  });

  it("keep the key out of serialized and inspected forms", () => {
    const shown = `${JSON.stringify({ handles })} ${inspect(handles, { showHidden: true, depth: 5 })}`;
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain(Buffer.from(SECRET).toString("hex").slice(0, 16));
  });
});
