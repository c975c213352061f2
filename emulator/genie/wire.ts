import type { GenieConversationRecord, GenieMessageRecord, QueryRun } from "./conversations.js";
import type { MessageStatus } from "./lifecycle.js";

/** Statuses at which a message shows its query attachment. */
const QUERY_VISIBLE: ReadonlySet<MessageStatus> = new Set([
  "EXECUTING_QUERY",
  "COMPLETED",
  "FAILED",
  "QUERY_RESULT_EXPIRED",
  "CANCELLED",
]);
/** Statuses at which the text summary exists. */
const TEXT_VISIBLE: ReadonlySet<MessageStatus> = new Set(["COMPLETED", "QUERY_RESULT_EXPIRED"]);

/** GenieConversation as the API returns it. */
export function conversationJson(conversation: GenieConversationRecord): Record<string, unknown> {
  return {
    id: conversation.id,
    conversation_id: conversation.id,
    space_id: conversation.spaceId,
    title: conversation.title,
    user_id: conversation.userId,
    created_timestamp: conversation.createdAt,
    last_updated_timestamp: conversation.lastUpdatedAt,
  };
}

/** GenieMessage as the API returns it, at the status computed for this moment. */
export function messageJson(message: GenieMessageRecord, status: MessageStatus): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: message.id,
    message_id: message.id,
    conversation_id: message.conversationId,
    space_id: message.spaceId,
    content: message.content,
    status,
    user_id: message.userId,
    created_timestamp: message.createdAt,
    last_updated_timestamp: message.lastUpdatedAt,
  };
  const attachments: Record<string, unknown>[] = [];
  const run = message.run;
  if (message.query && message.queryAttachmentId && QUERY_VISIBLE.has(status)) {
    const query: Record<string, unknown> = {
      id: message.queryAttachmentId,
      query: message.query.sql,
      title: message.query.title,
      description: message.query.description,
      parameters: message.query.parameters.map((p) => ({
        keyword: p.name,
        sql_type: p.type ?? "STRING",
        value: p.value ?? undefined,
      })),
      last_updated_timestamp: message.lastUpdatedAt,
    };
    if (run) query.statement_id = run.statementId;
    if (run?.state === "SUCCEEDED")
      query.query_result_metadata = { row_count: run.rowCount, is_truncated: run.truncated };
    attachments.push({ attachment_id: message.queryAttachmentId, query });
  }
  if (TEXT_VISIBLE.has(status)) {
    const content = message.text ?? summarize(message, run);
    attachments.push({
      attachment_id: message.textAttachmentId,
      text: { id: message.textAttachmentId, content, purpose: "TEXT_ATTACHMENT_PURPOSE_ANSWER" },
    });
  }
  if (attachments.length > 0) body.attachments = attachments;
  // Deprecated field that older clients still read.
  if (run?.state === "SUCCEEDED" && QUERY_VISIBLE.has(status)) {
    body.query_result = { statement_id: run.statementId, row_count: run.rowCount, is_truncated: run.truncated };
  }
  if (status === "FAILED" && message.failure) body.error = { error: message.failure.error, type: message.failure.type };
  return body;
}

/** One or two sentences describing the answer, as Genie's text attachment does. */
function summarize(message: GenieMessageRecord, run: QueryRun | undefined): string {
  const description = message.query?.description ?? "";
  if (!run || run.state !== "SUCCEEDED") return description;
  if (run.rowCount === 0) return `${description} No rows matched (you only see the deals you are allowed to see).`;
  const rows = run.result?.rows;
  const columns = run.result?.columns;
  if (rows && columns && rows.length === 1 && columns.length === 1)
    return `${description} Result: ${columns[0]!.name} = ${rows[0]![0] ?? "NULL"}.`;
  const plural = run.rowCount === 1 ? "row" : "rows";
  return `${description} The query returned ${run.rowCount} ${plural}${run.truncated ? " (truncated)" : ""}.`;
}
