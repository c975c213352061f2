import { createHash, randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Principal } from "../principal.js";
import type { SqlResult } from "../sql/engine.js";
import type { QuestionIntent, TranslatedQuery } from "./translator.js";

/** One execution of a message's query attachment (the first run, or a re-run through execute-query). */
export interface QueryRun {
  statementId: string;
  state: "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";
  startedAt: number;
  finishedAt?: number;
  /** Dropped when the result expires, so expired results hold no memory. */
  result?: SqlResult;
  rowCount: number;
  truncated: boolean;
  error?: { errorCode: string; message: string; sqlState?: string };
  abort: AbortController;
}

export interface GenieMessageRecord {
  id: string;
  conversationId: string;
  spaceId: string;
  content: string;
  /** `current_user()` of the asker; only this principal may read the message. */
  ownerName: string;
  userId: number;
  /** The asker's identity, so the query runs as them when the message reaches EXECUTING_QUERY. */
  principal: Principal;
  createdAt: number;
  lastUpdatedAt: number;
  query?: TranslatedQuery;
  queryAttachmentId?: string;
  textAttachmentId: string;
  /** Text answer for messages that produce no query (e.g. an unsupported question). */
  text?: string;
  run?: QueryRun;
  failure?: { error: string; type: string };
}

export interface GenieConversationRecord {
  id: string;
  spaceId: string;
  title: string;
  ownerName: string;
  userId: number;
  createdAt: number;
  lastUpdatedAt: number;
  /** Insertion-ordered; the oldest are dropped past the per-conversation cap. */
  messages: Map<string, GenieMessageRecord>;
  /** The last question that translated to a query, refined by follow-ups. */
  lastIntent?: QuestionIntent;
}

/** 32 hex characters, the form of Genie conversation, message and attachment ids. */
export function newGenieId(): string {
  return randomBytes(16).toString("hex");
}

/** A stable numeric `user_id` for a principal (the Genie API reports users by number). */
export function numericUserId(name: string): number {
  return createHash("sha256").update(name.toLowerCase()).digest().readUIntBE(0, 6);
}

export interface ConversationStoreOptions {
  maxConversations: number;
  maxMessagesPerConversation: number;
}

/** Conversations kept in memory, least recently used evicted past the cap. */
export class ConversationStore {
  private readonly conversations: LRUCache<string, GenieConversationRecord>;

  constructor(private readonly options: ConversationStoreOptions) {
    this.conversations = new LRUCache({
      max: options.maxConversations,
      // An evicted conversation's running queries are stopped so they hold no engine time.
      dispose: (conversation) => {
        for (const message of conversation.messages.values()) message.run?.abort.abort();
      },
    });
  }

  create(spaceId: string, title: string, principal: Principal, now: number): GenieConversationRecord {
    const conversation: GenieConversationRecord = {
      id: newGenieId(),
      spaceId,
      title,
      ownerName: principal.name,
      userId: numericUserId(principal.name),
      createdAt: now,
      lastUpdatedAt: now,
      messages: new Map(),
    };
    this.conversations.set(conversation.id, conversation);
    return conversation;
  }

  /** The conversation if it exists in this space and belongs to `principal`; others see nothing. */
  find(spaceId: string, conversationId: string, principal: Principal): GenieConversationRecord | undefined {
    const conversation = this.conversations.get(conversationId);
    if (!conversation || conversation.spaceId !== spaceId || conversation.ownerName !== principal.name)
      return undefined;
    return conversation;
  }

  addMessage(conversation: GenieConversationRecord, message: GenieMessageRecord): void {
    conversation.messages.set(message.id, message);
    conversation.lastUpdatedAt = message.createdAt;
    while (conversation.messages.size > this.options.maxMessagesPerConversation) {
      const oldest = conversation.messages.values().next().value!;
      oldest.run?.abort.abort();
      conversation.messages.delete(oldest.id);
    }
  }

  /** Conversations in a space, newest first; only the owner's unless `everyone`. */
  list(spaceId: string, principal: Principal, everyone: boolean): GenieConversationRecord[] {
    return [...this.conversations.values()]
      .filter((c) => c.spaceId === spaceId && (everyone || c.ownerName === principal.name))
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  delete(conversationId: string): void {
    this.conversations.delete(conversationId);
  }

  get size(): number {
    return this.conversations.size;
  }
}
