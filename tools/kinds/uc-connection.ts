import { z } from "zod";
import { ErrorCodes, UpstreamError } from "../../src/errors.js";
import { CatalogEntryBase, CatalogParameter } from "../catalog/schema.js";
import { defineKind, entryFields } from "./kind.js";
import { parameterSchema, statementParameters } from "./bound-parameters.js";

const Entry = CatalogEntryBase.extend({
  kind: z.literal("uc-connection"),
  connection: z
    .string()
    .regex(/^[A-Za-z_][\w-]{0,127}$/, "a Unity Catalog connection name")
    .describe("The connection."),
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("GET"),
  path: z
    .string()
    .regex(/^\/[\w\-./~%]*$/, "a path starting with / (fixed: the model cannot change it)")
    .refine((p) => !p.includes(".."), "a path without ..")
    .describe("Path under the connection's base path."),
  query: z.array(CatalogParameter).default([]).describe("Query parameters the call sends."),
  body: z.array(CatalogParameter).default([]).describe("Fields of the JSON body the call sends."),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string())
    .default({})
    .describe("Fixed request headers."),
})
  .strict()
  .superRefine((entry, ctx) => {
    const names = [...entry.query, ...entry.body].map((p) => p.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) ctx.addIssue({ code: "custom", path: ["body"], message: `${twice} is used twice` });
    if (Object.keys(entry.headers).some((h) => h.toLowerCase() === "authorization"))
      ctx.addIssue({ code: "custom", path: ["headers"], message: "the connection supplies the credential" });
  });

const output = {
  response: z.unknown().describe("The remote service's JSON answer, as it sent it."),
};

/** The named values of one group of parameters, bound ones from the verified caller; absent optional ones left out. */
function valuesOf(
  parameters: readonly CatalogParameter[],
  args: Readonly<Record<string, unknown>>,
  caller: Parameters<typeof statementParameters>[2],
  tool: string,
): Record<string, unknown> {
  const given = parameters.filter((p) => p.fromIdentity || args[p.name] !== undefined);
  const bound = statementParameters(given, args, caller, tool);
  return Object.fromEntries(given.map((p, i) => [p.name, p.fromIdentity ? bound[i]!.value : args[p.name]]));
}

/**
 * An HTTP call through a Unity Catalog connection (the serving endpoints' external-function call), as the caller:
 * USE CONNECTION decides, the workspace adds the connection's credential, and method and path are the entry's.
 */
export const ucConnectionKind = defineKind("uc-connection", Entry, (entry) => {
  const input: Record<string, z.ZodType> = {};
  for (const p of [...entry.query, ...entry.body]) if (!p.fromIdentity) input[p.name] = parameterSchema(p);
  return {
    ...entryFields(entry),
    inputSchema: input,
    outputSchema: output,
    scopes: ["serving.serving-endpoints"],
    async handler(args, ctx) {
      const params = valuesOf(entry.query, args, ctx.caller, entry.name);
      const body = valuesOf(entry.body, args, ctx.caller, entry.name);
      const response = await ctx.workspace.externalFunction(
        {
          connection_name: entry.connection,
          method: entry.method,
          path: entry.path,
          ...(Object.keys(entry.headers).length ? { headers: JSON.stringify(entry.headers) } : {}),
          ...(Object.keys(params).length ? { params: JSON.stringify(params) } : {}),
          ...(entry.body.length ? { json: JSON.stringify(body) } : {}),
        },
        { signal: ctx.signal, deadline: ctx.deadline },
      );
      if (response === null || typeof response !== "object")
        throw new UpstreamError(
          ErrorCodes.UPSTREAM_ERROR,
          `The ${entry.connection} connection answered with no JSON object.`,
        );
      const text = JSON.stringify(response);
      const items = (response as { items?: unknown }).items;
      return {
        structured: { response },
        text: text.length > 4000 ? `${text.slice(0, 4000)}… (full answer in structuredContent)` : text,
        rowsReturned: Array.isArray(items) ? items.length : 1,
      };
    },
  };
});
