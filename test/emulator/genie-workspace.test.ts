import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { servicePrincipalToken } from "../support/workspace-tokens.js";

// Genie through the whole local workspace: real tokens, real engine with row filters and masks.

const WEST_SP = "5e5e0001-0000-4000-8000-000000000001";
const EXEC_SP = "5e5e0004-0000-4000-8000-000000000004";
const MCP_SP = "5e5e0000-0000-4000-8000-00000000a0d1";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are probed field by field in assertions
type Json = Record<string, any>;

describe("Genie in the local workspace", () => {
  let workspace: LocalWorkspace;
  let spaceId: string;
  const tokens = new Map<string, string>();

  async function tokenFor(applicationId: string): Promise<string> {
    const cached = tokens.get(applicationId);
    if (cached) return cached;
    const token = await servicePrincipalToken(workspace, applicationId);
    tokens.set(applicationId, token);
    return token;
  }

  async function call(
    method: string,
    path: string,
    applicationId: string,
    body?: unknown,
  ): Promise<{ status: number; json: Json }> {
    const res = await fetch(`${workspace.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${await tokenFor(applicationId)}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Json };
  }

  async function ask(
    applicationId: string,
    content: string,
  ): Promise<{ message: Json; rows: unknown[][] | undefined }> {
    const started = await call("POST", `/api/2.0/genie/spaces/${spaceId}/start-conversation`, applicationId, {
      content,
    });
    expect(started.status).toBe(200);
    const path = `/api/2.0/genie/spaces/${spaceId}/conversations/${started.json.conversation_id}/messages/${started.json.message_id}`;
    // Bounded generously: the query runs on the real engine, however loaded the machine is.
    for (const end = Date.now() + 30_000; Date.now() < end;) {
      const { json: message } = await call("GET", path, applicationId);
      if (message.status === "COMPLETED" || message.status === "FAILED") {
        const attachment = message.attachments?.find((a: Json) => a.query);
        if (!attachment || message.status === "FAILED") return { message, rows: undefined };
        const result = await call("GET", `${path}/attachments/${attachment.attachment_id}/query-result`, applicationId);
        return { message, rows: result.json.statement_response.result?.data_array ?? [] };
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("Genie message never finished");
  }

  beforeAll(async () => {
    workspace = await startLocalWorkspace({ genieStepDelayMs: 5 });
    spaceId = workspace.context.seed.genieSpaces[0]!.id;
  });

  afterAll(async () => {
    await workspace?.close();
  });

  it("Genie's query runs as the caller: the west role's row filter leaves only WEST", async () => {
    const west = await ask(WEST_SP, "total amount by region");
    expect(west.message.status).toBe("COMPLETED");
    expect(west.rows!.map((r) => r[0])).toEqual(["WEST"]);
    const exec = await ask(EXEC_SP, "total amount by region");
    expect(new Set(exec.rows!.map((r) => r[0]))).toEqual(new Set(["WEST", "EAST", "CENTRAL"]));
  });

  it("the margin column mask applies to Genie answers", async () => {
    const west = await ask(WEST_SP, "average margin by region");
    expect(west.rows!.every((r) => r[1] === null)).toBe(true);
    const exec = await ask(EXEC_SP, "average margin by region");
    expect(exec.rows!.every((r) => r[1] !== null)).toBe(true);
  });

  it("top-N and count questions with region and quarter filters run on the real engine", async () => {
    const top = await ask(EXEC_SP, "top 3 deals in EAST in 2026-Q1");
    expect(top.message.status).toBe("COMPLETED");
    expect(top.rows!.length).toBeLessThanOrEqual(3);
    expect(top.rows!.every((r) => r[2] === "EAST" && r[7] === "2026-Q1")).toBe(true);
    const count = await ask(EXEC_SP, "how many deals in WEST");
    expect(Number(count.rows![0]![0])).toBeGreaterThan(0);
  });

  it("a principal without CAN_RUN on the space is refused with 403 PERMISSION_DENIED", async () => {
    const res = await call("POST", `/api/2.0/genie/spaces/${spaceId}/start-conversation`, MCP_SP, {
      content: "how many deals",
    });
    expect(res).toMatchObject({ status: 403, json: { error_code: "PERMISSION_DENIED" } });
  });

  it("the official JS SDK starts a conversation and waits for COMPLETED against the local workspace", async () => {
    const { WorkspaceClient } = await import("@databricks/sdk-experimental");
    const client = new WorkspaceClient({ host: workspace.baseUrl, token: await tokenFor(EXEC_SP), authType: "pat" });
    const waiter = await client.genie.startConversation({ space_id: spaceId, content: "how many deals" });
    const message = await waiter.wait({ timeout: undefined });
    expect(message.status).toBe("COMPLETED");
    expect(message.attachments?.some((a) => a.query?.query_result_metadata?.row_count === 1)).toBe(true);
  });
});
