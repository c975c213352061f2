import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { readJsonObject, sendJson, type Router } from "../http/router.js";
import { requireScope, Scopes, type Principal } from "../principal.js";
import { translateQuestion } from "../genie/translator.js";
import { buildIndex, searchKnowledgeBase } from "../vectorsearch/search.js";

type Source = { title: string; ref: string };
type ServingEndpoint = WorkspaceContext["seed"]["servingEndpoints"][number];

/**
 * The supervisor agent endpoint: data questions go to the Genie space's SQL, run as the caller (governance applies);
 * anything else to the knowledge base. Responses-agent output carries sources as `annotations` on the output text.
 */
export function registerServingRoutes(router: Router, ctx: WorkspaceContext): void {
  const indexes = new Map(ctx.seed.vectorIndexes.map((spec) => [spec.name, buildIndex(spec)]));

  async function answer(
    principal: Principal,
    endpoint: ServingEndpoint,
    question: string,
  ): Promise<{ text: string; sources: Source[] }> {
    const space = ctx.seed.genieSpaces.find((s) => s.id === endpoint.genieSpaceId);
    const translated = space ? translateQuestion(question, space.tables[0]!) : undefined;
    if (translated?.kind === "query") {
      try {
        const result = await ctx.engine.execute(principal, translated.query.sql, translated.query.parameters);
        const lines = result.rows.slice(0, 10).map((r) => r.join(" | "));
        return {
          text: `${translated.query.description}\n${result.columns.map((c) => c.name).join(" | ")}\n${lines.join("\n")}`,
          sources: [{ title: space!.tables[0]!, ref: translated.query.sql }],
        };
      } catch (err) {
        return { text: `I could not query the data as you: ${(err as Error).message.slice(0, 200)}`, sources: [] };
      }
    }
    const hits = searchKnowledgeBase(indexes.get(endpoint.vectorIndex)!, {
      queryText: question,
      numResults: 3,
      queryType: "HYBRID",
    });
    return {
      text: hits.map((h) => String(h.doc.content)).join("\n") || "I found nothing relevant.",
      sources: hits.map((h) => ({ title: String(h.doc.title ?? h.doc.doc_id), ref: String(h.doc.doc_id) })),
    };
  }

  function endpointNamed(name: string): ServingEndpoint {
    const endpoint = ctx.seed.servingEndpoints.find((e) => e.name === name);
    if (!endpoint) throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", `Endpoint ${name.slice(0, 128)} does not exist.`);
    return endpoint;
  }

  /** The caller and the endpoint it may query (scope, then existence, then CAN_QUERY); `verb` words the refusal. */
  async function queryableEndpoint(req: IncomingMessage, name: string, verb: "view" | "query") {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.serving);
    const endpoint = endpointNamed(name);
    if (!ctx.directory.allows(endpoint.permissions, principal, "CAN_QUERY"))
      throw new ApiError(
        403,
        "PERMISSION_DENIED",
        `User ${principal.name} does not have permission to ${verb} endpoint ${endpoint.name}.`,
      );
    return { principal, endpoint };
  }

  // The endpoint's details; CAN_VIEW suffices on Databricks, and every level the seed grants includes it.
  router.add("GET", "/api/2.0/serving-endpoints/:name", async ({ req, res, params }) => {
    const { principal, endpoint } = await queryableEndpoint(req, params.name!, "view");
    sendJson(res, 200, {
      name: endpoint.name,
      id: createHash("sha256").update(endpoint.name).digest("hex").slice(0, 32),
      state: { ready: "READY", config_update: "NOT_UPDATING" },
      task: "agent/v1/responses",
      permission_level: ctx.directory.allows(endpoint.permissions, principal, "CAN_MANAGE")
        ? "CAN_MANAGE"
        : "CAN_QUERY",
    });
  });

  router.add("POST", "/serving-endpoints/:name/invocations", async ({ req, res, params }) => {
    const { principal, endpoint } = await queryableEndpoint(req, params.name!, "query");
    const body = await readJsonObject(req);
    const question = lastUserText(body.input ?? body.messages);
    if (question === undefined)
      throw new ApiError(
        400,
        "BAD_REQUEST",
        "Provide `input` (Responses format) or `messages` (chat format) ending with a user turn that has text.",
      );
    const { text, sources } = await answer(principal, endpoint, question.slice(0, 4000));
    // Model Serving names the served entity that answered; the SDKs copy it into the response object.
    const servedModel = { "served-model-name": endpoint.name };
    if (body.messages !== undefined && body.input === undefined) {
      sendJson(
        res,
        200,
        {
          id: randomUUID(),
          object: "chat.completion",
          model: endpoint.name,
          choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
          custom_outputs: { sources },
        },
        servedModel,
      );
      return;
    }
    sendJson(
      res,
      200,
      {
        id: randomUUID(),
        object: "response",
        output: [
          {
            type: "message",
            id: randomUUID(),
            role: "assistant",
            status: "completed",
            content: [
              {
                type: "output_text",
                text,
                annotations: sources.map((s) => ({ type: "source", title: s.title, doc_id: s.ref })),
              },
            ],
          },
        ],
        custom_outputs: { sources },
      },
      servedModel,
    );
  });
}

/**
 * The text of the last user turn: `input` may be a string or a list of turns (Responses format), `messages` a list
 * of turns (chat format); a turn's content is a string or a list of parts (`input_text` / `text`).
 */
function lastUserText(turns: unknown): string | undefined {
  if (typeof turns === "string") return turns.trim() === "" ? undefined : turns;
  if (!Array.isArray(turns)) return undefined;
  const last = [...turns]
    .reverse()
    .find((t) => t && typeof t === "object" && (t as { role?: unknown }).role === "user") as
    { content?: unknown } | undefined;
  const content = last?.content;
  const text =
    typeof content === "string"
      ? content
      : Array.isArray(content)
        ? content
            .map((part) => (part && typeof part === "object" ? (part as { text?: unknown }).text : undefined))
            .filter((t): t is string => typeof t === "string")
            .join("\n")
        : undefined;
  return text === undefined || text.trim() === "" ? undefined : text;
}
