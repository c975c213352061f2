import { z } from "zod";
import type { ResolvedCaller } from "../../src/identity/types.js";
import { ErrorCodes, PolicyError } from "../../src/errors.js";
import type { StatementParameter } from "../../src/databricks/workspace-api.js";
import type { CatalogParameter, IdentityClaim } from "../catalog/schema.js";
import { freeText, hasControlCharacter } from "./params.js";

/** Longest free text a parameter takes unless its entry says otherwise. */
const DEFAULT_MAX_LENGTH = 1000;

/** Databricks statement parameter type of each catalog parameter type. */
const SQL_TYPES: Record<CatalogParameter["type"], string> = {
  string: "STRING",
  integer: "BIGINT",
  number: "DOUBLE",
  boolean: "BOOLEAN",
  date: "DATE",
  timestamp: "TIMESTAMP",
};

/** The input schema of a parameter the model supplies (bound ones have none). */
export function parameterSchema(p: CatalogParameter): z.ZodType {
  const description = p.description ?? p.name;
  // Fixed-form values (enum, date, bare pattern) carry their description outermost, free text and numbers innermost.
  let fixed: z.ZodType | undefined;
  let schema: z.ZodType;
  switch (p.type) {
    case "string":
      if (p.enum) fixed = z.enum(p.enum as [string, ...string[]]);
      else if (p.pattern && p.maxLength === undefined)
        fixed = z
          .string()
          .regex(new RegExp(p.pattern))
          .refine((v) => v.length <= DEFAULT_MAX_LENGTH && !hasControlCharacter(v), {
            message: `must be at most ${DEFAULT_MAX_LENGTH} characters, without control characters`,
          });
      else if (p.pattern)
        schema = freeText(p.maxLength!, description).regex(new RegExp(p.pattern)).describe(description);
      else schema = freeText(p.maxLength ?? DEFAULT_MAX_LENGTH, description);
      break;
    case "integer":
    case "number": {
      let n = p.type === "integer" ? z.number().int() : z.number();
      if (p.minimum !== undefined) n = n.min(p.minimum);
      if (p.maximum !== undefined) n = n.max(p.maximum);
      schema = n.describe(description);
      break;
    }
    case "boolean":
      schema = z.boolean().describe(description);
      break;
    case "date":
      fixed = z.iso.date();
      break;
    case "timestamp":
      fixed = z.iso.datetime({ offset: true });
      break;
  }
  if (fixed) {
    if (p.default !== undefined) return fixed.default(p.default as never).describe(description);
    return (p.required ? fixed : fixed.optional()).describe(description);
  }
  if (p.default !== undefined) return schema!.default(p.default as never);
  return p.required ? schema! : schema!.optional();
}

/** The value of a claim of the verified caller; undefined when this caller has none. */
export function claimOf(caller: ResolvedCaller, claim: IdentityClaim): string | undefined {
  const { identity } = caller;
  switch (claim) {
    case "email":
      if (identity.email) return identity.email;
      // OBO and local callers' human is the workspace user's email; a Federation subject never counts as one.
      return identity.mode !== "federation" && identity.human?.includes("@") ? identity.human : undefined;
    case "human":
      return identity.human;
    case "role":
      return identity.role;
    case "principal":
      return identity.expectedPrincipal;
    case "issuer":
      return identity.issuer;
    case "mode":
      return identity.mode;
  }
}

/**
 * The statement parameters of one call: bound ones from the verified caller (a caller without the claim is refused,
 * never given an empty value), the others from the validated arguments. Absent optional values are not sent.
 */
export function statementParameters(
  parameters: readonly CatalogParameter[],
  args: Readonly<Record<string, unknown>>,
  caller: ResolvedCaller,
  tool: string,
): StatementParameter[] {
  const out: StatementParameter[] = [];
  for (const p of parameters) {
    let value: unknown;
    if (p.fromIdentity) {
      value = claimOf(caller, p.fromIdentity);
      if (value === undefined)
        throw new PolicyError(
          ErrorCodes.TOOL_NOT_ALLOWED,
          `${tool} needs the caller's ${p.fromIdentity}, and this credential carries none.`,
          { hint: "Call it with a credential that names a person (OBO or Federation)." },
        );
    } else value = args[p.name];
    out.push({
      name: p.name,
      value: value === undefined || value === null ? null : String(value),
      type: SQL_TYPES[p.type],
    });
  }
  return out;
}
