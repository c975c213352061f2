import { z } from "zod";

/** Where a bound parameter's value comes from: the verified identity, never the model. */
export const IDENTITY_CLAIMS = ["email", "human", "role", "principal", "issuer", "mode"] as const;
export const IdentityClaim = z.enum(IDENTITY_CLAIMS);
export type IdentityClaim = z.infer<typeof IdentityClaim>;

/** A typed input of a catalog tool; `fromIdentity` makes it bound (absent from the input schema, refused if passed). */
export const CatalogParameter = z
  .object({
    name: z.string().regex(/^[a-z_][a-z0-9_]{0,63}$/, "a parameter name is lower_snake_case"),
    type: z.enum(["string", "integer", "number", "boolean", "date", "timestamp"]).default("string"),
    description: z.string().min(3).optional().describe("What the model reads; required unless bound."),
    required: z.boolean().default(false),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    enum: z.array(z.string().min(1)).min(1).optional().describe("Fixed values the model chooses among."),
    pattern: z.string().optional().describe("A regular expression a string must match."),
    maxLength: z.number().int().positive().max(100_000).optional().describe("Longest text accepted (1000 unless set)."),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    fromIdentity: IdentityClaim.optional().describe(
      "Bind to the verified caller; the model can neither see nor set it.",
    ),
  })
  .strict()
  .refine((p) => p.fromIdentity !== undefined || p.description !== undefined, {
    message: "give the parameter a description (the model reads it)",
  });
export type CatalogParameter = z.infer<typeof CatalogParameter>;

/** What every entry has, whatever its kind; a kind adds its own fields (its resource first). */
export const CatalogEntryBase = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, "a tool name is lower_snake_case, at most 64 characters"),
  title: z.string().min(1),
  description: z.string().min(20).describe("What the model reads to decide when to call the tool."),
  kind: z.string().min(1),
  annotations: z
    .object({
      readOnlyHint: z.boolean().optional(),
      destructiveHint: z.boolean().optional(),
      idempotentHint: z.boolean().optional(),
      openWorldHint: z.boolean().optional(),
    })
    .strict()
    .default({ readOnlyHint: true, idempotentHint: true, openWorldHint: false }),
  timeoutMs: z.number().int().positive().max(600_000).default(60_000),
  roles: z.array(z.string().min(1)).default([]).describe("Federation roles that may call it (MCP_RBAC overrides)."),
  limits: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("Per-tool limits (e.g. a call quota), passed through unchanged to the dispatcher's limit hook."),
});
export type CatalogEntryBase = z.infer<typeof CatalogEntryBase>;

/** A catalog file: a list of tool entries; each entry's own fields are checked by its kind. */
export const CatalogFile = z
  .object({
    tools: z.array(z.looseObject({ name: z.string(), kind: z.string() })).min(1),
  })
  .strict()
  .refine((file) => new Set(file.tools.map((t) => t.name)).size === file.tools.length, {
    message: "each tool name may appear once",
  });
export type CatalogFile = z.infer<typeof CatalogFile>;
