import type { IncomingMessage } from "node:http";
import type { WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { paginate } from "../http/pagination.js";
import { readJsonObject, sendJson, type Router } from "../http/router.js";
import { Scopes, requireScope, type Principal } from "../principal.js";
import {
  ConversationStore,
  newGenieId,
  numericUserId,
  type GenieConversationRecord,
  type GenieMessageRecord,
} from "./conversations.js";
import { MessageLifecycle } from "./lifecycle.js";
import { spaceFor, type GenieSpace } from "./spaces.js";
import { toStatementResponse } from "./statement-response.js";
import { translateQuestion } from "./translator.js";
import { conversationJson, messageJson } from "./wire.js";

export interface GenieRouteOptions {
  /** How long a query result stays readable before the message reports QUERY_RESULT_EXPIRED. Default 24 h. */
  resultRetentionMs?: number;
  /** Conversations kept in memory; the least recently used are forgotten past it. Default 1000. */
  maxConversations?: number;
  maxMessagesPerConversation?: number;
}

export const DEFAULT_GENIE_RESULT_RETENTION_MS = 24 * 60 * 60 * 1000;
const MAX_CONTENT_CHARS = 10_000;
const SPACE = "/api/2.0/genie/spaces/:space_id";
const CONVERSATION = `${SPACE}/conversations/:conversation_id`;
const MESSAGE = `${CONVERSATION}/messages/:message_id`;

/** The Genie Conversation API over the seeded spaces, answering as the calling principal. */
export function registerGenieRoutes(router: Router, ctx: WorkspaceContext, options: GenieRouteOptions = {}): void {
  const now = () => ctx.clock.now();
  const store = new ConversationStore({
    maxConversations: options.maxConversations ?? 1000,
    maxMessagesPerConversation: options.maxMessagesPerConversation ?? 100,
  });
  const lifecycle = new MessageLifecycle(ctx, {
    stepDelayMs: ctx.genieStepDelayMs,
    resultRetentionMs: options.resultRetentionMs ?? DEFAULT_GENIE_RESULT_RETENTION_MS,
    clock: ctx.clock,
  });

  /** Authentication, scope, then the space and CAN_RUN on it, in the order Databricks checks them. */
  async function authorize(
    req: IncomingMessage,
    spaceId: string,
  ): Promise<{ principal: Principal; space: GenieSpace }> {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.genie);
    return { principal, space: spaceFor(ctx, principal, spaceId) };
  }

  function conversationOf(spaceId: string, conversationId: string, principal: Principal): GenieConversationRecord {
    const conversation = store.find(spaceId, conversationId, principal);
    if (!conversation)
      throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", `Conversation ${conversationId} does not exist.`);
    return conversation;
  }

  function messageOf(params: Record<string, string>, principal: Principal): GenieMessageRecord {
    const conversation = conversationOf(params.space_id!, params.conversation_id!, principal);
    const message = conversation.messages.get(params.message_id!);
    if (!message) throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", `Message ${params.message_id} does not exist.`);
    return message;
  }

  async function readContent(req: IncomingMessage): Promise<string> {
    const body = await readJsonObject(req);
    const content = body.content;
    if (typeof content !== "string" || content.trim() === "") {
      throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Field 'content' is required and must be a non-empty string.");
    }
    if (content.length > MAX_CONTENT_CHARS) {
      throw new ApiError(
        400,
        "INVALID_PARAMETER_VALUE",
        `Field 'content' must be at most ${MAX_CONTENT_CHARS} characters.`,
      );
    }
    return content;
  }

  /** Translates the question now; status then advances with time and the query runs when it is due. */
  function addMessage(
    conversation: GenieConversationRecord,
    space: GenieSpace,
    content: string,
    principal: Principal,
  ): GenieMessageRecord {
    const createdAt = now();
    const message: GenieMessageRecord = {
      id: newGenieId(),
      conversationId: conversation.id,
      spaceId: space.id,
      content,
      ownerName: principal.name,
      userId: numericUserId(principal.name),
      principal,
      createdAt,
      lastUpdatedAt: createdAt,
      textAttachmentId: newGenieId(),
    };
    const table = space.tables[0];
    if (table === undefined) {
      message.failure = { error: "The Genie space has no tables to query.", type: "NO_TABLES_TO_QUERY_EXCEPTION" };
    } else {
      try {
        const translation = translateQuestion(content, table, conversation.lastIntent);
        if (translation.kind === "query") {
          message.query = translation.query;
          message.queryAttachmentId = newGenieId();
          conversation.lastIntent = translation.query.intent;
        } else {
          message.text = translation.content;
        }
      } catch {
        message.failure = {
          error: `The Genie space table ${table} is not a valid identifier.`,
          type: "INVALID_TABLE_IDENTIFIER_EXCEPTION",
        };
      }
    }
    store.addMessage(conversation, message);
    lifecycle.schedule(message);
    return message;
  }

  const render = (message: GenieMessageRecord) => messageJson(message, lifecycle.statusOf(message));

  /** The message's query attachment (by id when given), or 404/400 as the API answers. */
  function queryAttachment(message: GenieMessageRecord, attachmentId?: string): void {
    if (attachmentId !== undefined && attachmentId !== message.queryAttachmentId) {
      throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", `Query attachment ${attachmentId} does not exist.`);
    }
    if (!message.query) throw new ApiError(400, "INVALID_PARAMETER_VALUE", "The message has no query attachment.");
  }

  function queryResult(message: GenieMessageRecord, attachmentId?: string): Record<string, unknown> {
    queryAttachment(message, attachmentId);
    const status = lifecycle.statusOf(message);
    const run = message.run;
    if (!run)
      throw new ApiError(
        400,
        "INVALID_PARAMETER_VALUE",
        `The query result is not available while the message is ${status}.`,
      );
    if (status === "QUERY_RESULT_EXPIRED") {
      // The result is gone; Databricks' statement state for that is CLOSED. Re-run with execute-query.
      return { statement_response: toStatementResponse({ statementId: run.statementId, state: "CLOSED" }) };
    }
    return {
      statement_response: toStatementResponse({
        statementId: run.statementId,
        state: run.state,
        result: run.result,
        truncated: run.truncated,
        error: run.error,
      }),
    };
  }

  async function executeQuery(
    message: GenieMessageRecord,
    principal: Principal,
    attachmentId?: string,
  ): Promise<Record<string, unknown>> {
    queryAttachment(message, attachmentId);
    const status = lifecycle.statusOf(message);
    if (!["COMPLETED", "FAILED", "QUERY_RESULT_EXPIRED", "CANCELLED"].includes(status)) {
      throw new ApiError(400, "INVALID_PARAMETER_VALUE", `The query cannot be re-run while the message is ${status}.`);
    }
    const run = await lifecycle.run(message, principal);
    return {
      statement_response: toStatementResponse({
        statementId: run.statementId,
        state: run.state,
        result: run.result,
        truncated: run.truncated,
        error: run.error,
      }),
    };
  }

  router.add("POST", `${SPACE}/start-conversation`, async ({ req, res, params }) => {
    const { principal, space } = await authorize(req, params.space_id!);
    const content = await readContent(req);
    const conversation = store.create(space.id, content.slice(0, 256), principal, now());
    const message = addMessage(conversation, space, content, principal);
    sendJson(res, 200, {
      conversation_id: conversation.id,
      message_id: message.id,
      conversation: conversationJson(conversation),
      message: render(message),
    });
  });

  router.add("GET", `${SPACE}/conversations`, async ({ req, res, params, url }) => {
    const { principal, space } = await authorize(req, params.space_id!);
    const everyone = url.searchParams.get("include_all") === "true";
    if (everyone && !ctx.directory.allows(space.permissions, principal, "CAN_MANAGE")) {
      throw new ApiError(
        403,
        "PERMISSION_DENIED",
        `You need "Can Manage" permission on Genie space [${space.id}] to list all conversations.`,
      );
    }
    const page = paginate(store.list(space.id, principal, everyone), url);
    sendJson(res, 200, {
      conversations: page.items.map((c) => ({ conversation_id: c.id, title: c.title, created_timestamp: c.createdAt })),
      next_page_token: page.nextPageToken,
    });
  });

  router.add("GET", `${CONVERSATION}/messages`, async ({ req, res, params, url }) => {
    const { principal } = await authorize(req, params.space_id!);
    const conversation = conversationOf(params.space_id!, params.conversation_id!, principal);
    const page = paginate([...conversation.messages.values()], url);
    sendJson(res, 200, { messages: page.items.map(render), next_page_token: page.nextPageToken });
  });

  router.add("DELETE", CONVERSATION, async ({ req, res, params }) => {
    const { principal } = await authorize(req, params.space_id!);
    const conversation = conversationOf(params.space_id!, params.conversation_id!, principal);
    store.delete(conversation.id);
    sendJson(res, 200, {});
  });

  router.add("POST", `${CONVERSATION}/messages`, async ({ req, res, params }) => {
    const { principal, space } = await authorize(req, params.space_id!);
    const conversation = conversationOf(space.id, params.conversation_id!, principal);
    const content = await readContent(req);
    sendJson(res, 200, render(addMessage(conversation, space, content, principal)));
  });

  router.add("GET", MESSAGE, async ({ req, res, params }) => {
    const { principal } = await authorize(req, params.space_id!);
    sendJson(res, 200, render(messageOf(params, principal)));
  });

  router.add("GET", `${MESSAGE}/attachments/:attachment_id/query-result`, async ({ req, res, params }) => {
    const { principal } = await authorize(req, params.space_id!);
    sendJson(res, 200, queryResult(messageOf(params, principal), params.attachment_id!));
  });

  router.add("POST", `${MESSAGE}/attachments/:attachment_id/execute-query`, async ({ req, res, params }) => {
    const { principal } = await authorize(req, params.space_id!);
    sendJson(res, 200, await executeQuery(messageOf(params, principal), principal, params.attachment_id!));
  });

  // Deprecated variants the SDKs still expose.
  router.add("GET", `${MESSAGE}/query-result`, async ({ req, res, params }) => {
    const { principal } = await authorize(req, params.space_id!);
    sendJson(res, 200, queryResult(messageOf(params, principal)));
  });

  router.add("GET", `${MESSAGE}/query-result/:attachment_id`, async ({ req, res, params }) => {
    const { principal } = await authorize(req, params.space_id!);
    sendJson(res, 200, queryResult(messageOf(params, principal), params.attachment_id!));
  });

  router.add("POST", `${MESSAGE}/execute-query`, async ({ req, res, params }) => {
    const { principal } = await authorize(req, params.space_id!);
    sendJson(res, 200, await executeQuery(messageOf(params, principal), principal));
  });
}
