import { z } from "zod";
import { ErrorCodes, InputError, PolicyError } from "../../src/errors.js";
import { pollGenieMessage } from "../../src/databricks/genie-polling.js";
import { MAX_HANDLE_CHARS, type ConversationOwner } from "../../src/policy/conversation-handle.js";
import { CatalogEntryBase } from "../catalog/schema.js";
import { defineKind, entryFields } from "./kind.js";
import { freeText } from "./params.js";
import { textTable } from "./render.js";
import type { ToolContext } from "../types.js";

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

const Entry = CatalogEntryBase.extend({
  kind: z.literal("genie"),
  space: z.string().min(1).describe("The Genie space id."),
}).strict();

type Input = z.infer<z.ZodObject<typeof input>>;

/** A Genie space: a question, polled to completion as the caller, with a signed handle for follow-ups. */
export const genieKind = defineKind("genie", Entry, (entry) => ({
  ...entryFields(entry),
  inputSchema: input,
  outputSchema: output,
  scopes: ["dashboards.genie"],
  async handler(raw, ctx) {
    const args = raw as Input;
    const space = entry.space;
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
    const message = await pollGenieMessage(
      ctx.workspace,
      { spaceId: space, conversationId, messageId },
      {
        signal: ctx.signal,
        deadline: ctx.deadline,
        clock: ctx.clock,
        onStatus: (polls, status) => ctx.reportProgress(polls, `Genie: ${status}`),
      },
    );
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
}));
