import type { IncomingMessage, ServerResponse } from "node:http";
import { QUERY_MESSAGE_STEPS } from "../emulator/genie/lifecycle.js";
import type { BenchStack } from "./stack.js";
import { closedLoop, failures, type LoadResult } from "./load.js";
import { OVERHEAD_USER } from "./overhead.js";
import { median, ms, type Figure } from "./stats.js";
import { McpWireClient } from "./wire.js";

const MESSAGE_PATH = /^\/api\/2\.0\/genie\/spaces\/[^/]+\/conversations\/([^/]+)\/messages\/([^/]+)$/;
/** A message with a query reaches COMPLETED after this many steps (emulator/genie/lifecycle.ts). */
const COMPLETED_STEP = QUERY_MESSAGE_STEPS.indexOf("COMPLETED");

/**
 * genie_query with the local Genie's step delays: how late the tool returns after the message reached COMPLETED,
 * relative to the whole Genie time, and how many times it polled each message.
 */
export async function measureGenie(stack: BenchStack, options: { messages: number }): Promise<Figure[]> {
  const { workspace, app } = stack;
  const stepMs = workspace.context.genieStepDelayMs;
  const { access_token } = await workspace.tokens.issue(OVERHEAD_USER, ["all-apis"], 3600);
  const authorization = `Bearer ${access_token}`;
  // Count the polls the server sends for each message, as the workspace receives them, and note each message's
  // Genie conversation (the tool hands out a signed handle instead).
  const polls = new Map<string, number>();
  const conversations = new Map<string, string>();
  const apply = workspace.faults.apply.bind(workspace.faults);
  workspace.faults.apply = (req: IncomingMessage, res: ServerResponse, pathname: string) => {
    const match = req.method === "GET" ? MESSAGE_PATH.exec(pathname) : null;
    if (match) {
      polls.set(match[2]!, (polls.get(match[2]!) ?? 0) + 1);
      conversations.set(match[2]!, match[1]!);
    }
    return apply(req, res, pathname);
  };
  const mcp = new McpWireClient(stack.mcpUrl);
  const lateShare: number[] = [];
  const late: number[] = [];
  const totals: number[] = [];
  const pollCounts: number[] = [];
  let run: LoadResult;
  try {
    run = await closedLoop(options.messages, 4, async () => {
      const result = await mcp.callTool(
        "genie_query",
        { question: "What is the total amount by region?" },
        { authorization },
      );
      const returnedAt = Date.now();
      const { message_id } = result.structuredContent as { message_id: string };
      const res = await fetch(
        `${workspace.baseUrl}/api/2.0/genie/spaces/${app.config.workspace.genieSpaceId}/conversations/${conversations.get(message_id)}/messages/${message_id}`,
        { headers: { authorization } },
      );
      const message = (await res.json()) as { created_timestamp: number; last_updated_timestamp: number };
      // COMPLETED once the last step is due and the query has finished, whichever is later.
      const completedAt = Math.max(message.created_timestamp + COMPLETED_STEP * stepMs, message.last_updated_timestamp);
      const total = completedAt - message.created_timestamp;
      late.push(returnedAt - completedAt);
      totals.push(total);
      lateShare.push((returnedAt - completedAt) / total);
      pollCounts.push((polls.get(message_id) ?? 1) - 1);
    });
  } finally {
    workspace.faults.apply = apply;
    await mcp.close();
  }
  const share = median(lateShare);
  const failed = failures(run);
  return [
    {
      benchmark: `genie (step ${stepMs} ms)`,
      figure: "COMPLETED → tool returned, share of total Genie time (median)",
      measured: `${(share * 100).toFixed(1)} %`,
      target: "≤ 15 %",
      pass: share <= 0.15 && run.errors === 0,
      detail: `median ${ms(median(late), 0)} late of ${ms(median(totals), 0)}; ${options.messages} messages${failed}`,
    },
    {
      benchmark: `genie (step ${stepMs} ms)`,
      figure: "polls per message (median, max)",
      measured: `${median(pollCounts)}, ${Math.max(...pollCounts)}`,
      target: "report",
      detail: "GET message requests the server sent per message",
    },
  ];
}
