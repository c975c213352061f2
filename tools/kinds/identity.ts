import { z } from "zod";
import { signalOf } from "../../src/linked-abort.js";
import { CatalogEntryBase } from "../catalog/schema.js";
import { defineKind, entryFields } from "./kind.js";

const input = {
  fresh: z
    .boolean()
    .optional()
    .describe(
      "Ask the workspace again instead of reusing what it said about this credential a moment ago (default false).",
    ),
};
const output = {
  mode: z
    .string()
    .describe("Credential pattern: obo, m2m, federation (a role), federation-user, idp-obo, brokered, pat or u2m."),
  credential_source: z
    .string()
    .describe(
      "Where the credential came from: proxy-header, bearer, exchange, exchange-by-rule (the issuer's rule chose user or role), on-behalf-of, broker-store, client-credentials, env-token…",
    ),
  human: z.string().nullable().describe("The human behind the call: email or IdP subject; null for M2M."),
  issuer: z
    .string()
    .nullable()
    .describe("Federation: the identity provider (its exact iss) that verified the human; null in other modes."),
  role: z.string().nullable().describe("Federation role, when there is one."),
  workspace_principal: z
    .string()
    .describe("current_user() as the workspace reports it: an email or a service principal application id."),
  workspace_display_name: z.string().nullable().describe("Display name from SCIM Me."),
  groups: z.array(z.string()).describe("Groups the workspace confirms for the principal."),
  scopes: z.array(z.string()).describe("OAuth scopes of the workspace credential."),
  token_expires_at: z
    .string()
    .describe("Expiry of the workspace credential (ISO 8601). The token itself is never shown."),
  tools_allowed: z.array(z.string()).describe("Tools this caller may use."),
  workspace_view_as_of: z.string().describe("When the workspace was asked for the principal and groups (ISO 8601)."),
  workspace_view_cached: z
    .boolean()
    .describe("True when the principal and groups were reused from an earlier answer for the same credential."),
};

const Entry = CatalogEntryBase.extend({
  kind: z.literal("identity"),
  warehouse: z.string().min(1).describe("SQL warehouse that answers SELECT current_user()."),
}).strict();

/** check_identity: who the workspace thinks the caller is (SCIM Me and current_user()), and the tools it may use. */
export const identityKind = defineKind("identity", Entry, (entry, { toolNames }) => {
  const outputSchema = {
    ...output,
    tools_allowed: z.array(z.enum(toolNames as [string, ...string[]])).describe("Tools this caller may use."),
  };
  return {
    ...entryFields(entry),
    inputSchema: input,
    outputSchema,
    scopes: ["sql"],
    async handler(args: { fresh?: boolean }, ctx) {
      const { identity } = ctx.caller;
      const options = { signal: ctx.signal, deadline: ctx.deadline };
      const { credential } = ctx.caller;
      const token = credential.current?.() ?? (await credential.token({ signal: signalOf(ctx.signal) }));
      const { view, cached } = await ctx.workspaceViews.get(
        token,
        async () => {
          const [me, current] = await Promise.all([
            ctx.workspace.currentUser(options),
            ctx.workspace.executeStatement({
              warehouseId: entry.warehouse,
              statement: "SELECT current_user() AS current_user",
              parameters: [],
              rowLimit: 1,
              ...options,
            }),
          ]);
          return {
            principal: String(current.rows[0]?.[0] ?? me.userName ?? me.applicationId ?? "unknown"),
            displayName: typeof me.displayName === "string" ? me.displayName : null,
            groups: Array.isArray(me.groups)
              ? (me.groups as { display?: string }[]).map((g) => String(g.display ?? "")).filter(Boolean)
              : [],
            observedAt: Date.now(),
          };
        },
        { fresh: args.fresh === true },
      );
      const { principal, groups } = view;
      const structured = {
        mode: identity.mode,
        credential_source: identity.source,
        human: identity.human ?? null,
        issuer: identity.issuer ?? null,
        role: identity.role ?? null,
        workspace_principal: principal,
        workspace_display_name: view.displayName,
        groups,
        scopes: token.scopes,
        token_expires_at: new Date(token.expiresAt * 1000).toISOString(),
        tools_allowed: [...ctx.allowedTools],
        workspace_view_as_of: new Date(view.observedAt).toISOString(),
        workspace_view_cached: cached,
      };
      const text = `You are ${structured.human ?? "(no human: service identity)"}${identity.issuer ? ` of ${identity.issuer}` : ""} acting as ${principal} in the workspace (mode ${identity.mode}, via ${identity.source}${identity.role ? `, role ${identity.role}` : ""}). Groups: ${groups.join(", ") || "none"}. Tools: ${structured.tools_allowed.join(", ")}.`;
      return { structured, text, rowsReturned: 1 };
    },
  };
});
