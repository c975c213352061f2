import { z } from "zod";
import { ErrorCodes, UpstreamError, GovernedError, InputError, PolicyError } from "../src/errors.js";
import type { GenieMessage } from "../src/databricks/workspace-api.js";
import { MAX_HANDLE_CHARS, type ConversationOwner } from "../src/policy/conversation-handle.js";
import { freeText } from "./params.js";
import { textTable } from "./render.js";
import type { ToolContext, ToolDefinition } from "./types.js";

const input = {
  question: freeText(2000, "A question about the sales data, in English."),
  conversation_id: z
    .string()
    .regex(new RegExp(`^[A-Za-z0-9_-]{1,${MAX_HANDLE_CHARS}}$`))
    .optional()
    .describe(
      "For a follow-up: the conversation_id of a previous genie_query answer, passed back unchanged. Omit it to start a new conversation.",
    ),
};
const output = {
  answer: z.string().describe("Genie's text answer."),
  sql: z.string().nullable().describe("The SQL Genie generated and ran as you."),
  columns: z.array(z.string()).describe("Result column names."),
  rows: z.array(z.array(z.union([z.string(), z.null()]))).describe("Result rows (Unity Catalog applied)."),
  conversation_id: z.string().describe("Pass back unchanged to ask a follow-up; it works only for you."),
  message_id: z.string().describe("The Genie message id."),
  status: z.string().describe("Final Genie status."),
};

const FIRST_POLL_MS = 75;
const MAX_POLL_MS = 2000;

/** One answer for every conversation a caller cannot continue, whatever the reason: nothing to tell them apart. */
const NOT_FOUND_MESSAGE = "No Genie conversation matches this conversation_id.";
const NOT_FOUND_HINT = "Pass the conversation_id of one of your own genie_query answers, or omit it to start anew.";

/** The Genie conversation a follow-up continues; refused unless its handle was issued to this caller. */
function conversationOf(handle: string, owner: ConversationOwner, ctx: ToolContext): string {
  const opened = ctx.conversationHandles.open(handle, owner);
  if ("conversationId" in opened) return opened.conversationId;
  // The audit row tells a handle of someone else (denied) from one that never was a handle (failed); the caller cannot.
  const Refusal = opened.refused === "foreign" ? PolicyError : InputError;
  throw new Refusal(ErrorCodes.NOT_FOUND, NOT_FOUND_MESSAGE, { hint: NOT_FOUND_HINT });
}

export const genieQueryTool: ToolDefinition<typeof input, typeof output> = {
  name: "genie_query",
  title: "Ask Genie",
  description:
    "Asks the Genie space a natural-language question about the sales data. Genie writes SQL and runs it as you (Unity Catalog applies). Returns the answer, the SQL, the rows, and a conversation_id for follow-ups. Sends progress notifications while Genie works.",
  inputSchema: input,
  outputSchema: output,
  scopes: ["dashboards.genie"],
  annotations: { readOnlyHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, ctx) {
    const space = ctx.config.workspace.genieSpaceId;
    const owner: ConversationOwner = { spaceId: space, identity: ctx.caller.identity };
    const options = { signal: ctx.signal, deadline: ctx.deadline };
    let conversationId: string;
    let messageId: string;
    if (args.conversation_id) {
      const continued = conversationOf(args.conversation_id, owner, ctx);
      const created = await ctx.workspace.createMessage(space, continued, args.question, options);
      conversationId = created.conversation_id;
      messageId = created.message_id ?? created.id!;
    } else {
      const started = await ctx.workspace.startConversation(space, args.question, options);
      conversationId = started.conversation_id;
      messageId = started.message_id;
    }
    let message: GenieMessage;
    let delay = FIRST_POLL_MS;
    let lastStatus = "";
    let polls = 0;
    for (;;) {
      if (ctx.signal.aborted)
        throw new GovernedError(ErrorCodes.CANCELLED, "The Genie call was cancelled; polling stopped.");
      message = await ctx.workspace.getMessage(space, conversationId, messageId, options);
      polls += 1;
      const progressed = message.status !== lastStatus;
      if (progressed) {
        lastStatus = message.status;
        await ctx.reportProgress(polls, `Genie: ${message.status}`);
      }
      if (["COMPLETED", "FAILED", "CANCELLED", "QUERY_RESULT_EXPIRED"].includes(message.status)) break;
      // Fast while Genie moves from step to step, backing off (capped) while it stays on one.
      delay = progressed ? FIRST_POLL_MS : Math.min(Math.round(delay * 1.5), MAX_POLL_MS);
      await ctx.clock.sleep(delay, ctx.signal).catch(() => undefined);
    }
    if (message.status === "FAILED")
      throw new UpstreamError(
        ErrorCodes.QUERY_FAILED,
        `Genie could not answer: ${message.error?.error ?? "unknown error"}. Rephrase the question or check your access.`,
      );
    if (message.status === "CANCELLED") throw new UpstreamError(ErrorCodes.CANCELLED, "Genie cancelled the message.");
    if (message.status === "QUERY_RESULT_EXPIRED")
      throw new UpstreamError(ErrorCodes.QUERY_RESULT_EXPIRED, "The Genie query result expired; ask again.");
    const attachments = message.attachments ?? [];
    const text = attachments
      .map((a) => a.text?.content)
      .filter(Boolean)
      .join("\n");
    const queryAttachment = attachments.find((a) => a.query);
    let columns: string[] = [];
    let rows: (string | null)[][] = [];
    if (queryAttachment?.attachment_id) {
      const { statement_response: result } = await ctx.workspace.getQueryResult(
        space,
        conversationId,
        messageId,
        queryAttachment.attachment_id,
        options,
      );
      if (result.statement_id) ctx.recordStatement(result.statement_id);
      columns = (result.manifest?.schema?.columns ?? []).map((c) => c.name);
      rows = result.result?.data_array ?? [];
    }
    const sql = queryAttachment?.query?.query ?? null;
    const answer = text || queryAttachment?.query?.description || "Genie returned no text.";
    const handle = ctx.conversationHandles.issue(conversationId, owner);
    return {
      structured: {
        answer,
        sql,
        columns,
        rows,
        conversation_id: handle,
        message_id: messageId,
        status: message.status,
      },
      text: `${answer}${sql ? `\n\nSQL:\n${sql}` : ""}${columns.length ? `\n\n${textTable(columns, rows)}` : ""}\n\nconversation_id: ${handle}`,
      rowsReturned: rows.length,
    };
  },
};
