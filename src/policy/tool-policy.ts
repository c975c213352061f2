import type { Tool } from "@modelcontextprotocol/server";
import type { Config } from "../config/schema.js";
import { ErrorCodes, PolicyError } from "../errors.js";
import type { CatalogEntry, ToolCatalog } from "../mcp/tool-catalog.js";
import { missingScopes } from "./scopes.js";
import { accessRules, allowedTools, type AccessRules, type AccessSubject } from "./tool-access.js";

/** The credential's scopes join the subject when a call is authorized. */
export type PolicySubject = AccessSubject & { scopes: readonly string[] };

/**
 * The one answer to "what does this caller see in tools/list" and "may it call this tool with these scopes":
 * listing, the HTTP scope challenge, the dispatcher and check_identity all ask here.
 */
export class ToolPolicy {
  readonly rules: AccessRules;

  constructor(
    readonly catalog: ToolCatalog,
    config: Config,
  ) {
    this.rules = accessRules(
      [...catalog.values()].map((e) => e.definition),
      config,
    );
  }

  /** Names of the tools this caller may use, in catalog order. */
  allowed(subject: AccessSubject): readonly string[] {
    return allowedTools(subject, this.rules);
  }

  /** What tools/list shows this caller. */
  listing(subject: AccessSubject): Tool[] {
    return this.allowed(subject).flatMap((name) => this.catalog.get(name)?.listing ?? []);
  }

  /** The entry of a tool this caller may use, or undefined (unknown and forbidden look the same). */
  permitted(subject: AccessSubject, name: string): CatalogEntry | undefined {
    const entry = this.catalog.get(name);
    return entry && this.allowed(subject).includes(name) ? entry : undefined;
  }

  /** Scopes a call of a tool this caller may use needs and its credential lacks; empty otherwise. */
  lackingScopes(subject: PolicySubject, name: string): string[] {
    const entry = this.permitted(subject, name);
    return entry ? missingScopes(subject.scopes, entry.definition.scopes) : [];
  }

  /** The entry to run, or the refusal (TOOL_NOT_ALLOWED, SCOPE_MISSING) with what the agent should do. */
  authorize(subject: PolicySubject, name: string): CatalogEntry {
    const entry = this.permitted(subject, name);
    if (!entry)
      throw new PolicyError(
        ErrorCodes.TOOL_NOT_ALLOWED,
        `The tool '${String(name).slice(0, 64)}' is not available to this caller.`,
        { hint: "Call tools/list to see the tools you may use." },
      );
    const missing = missingScopes(subject.scopes, entry.definition.scopes);
    if (missing.length > 0)
      throw new PolicyError(
        ErrorCodes.SCOPE_MISSING,
        `The credential lacks the scope(s) ${missing.join(", ")} that ${entry.definition.name} needs.`,
        { hint: "Sign in again granting these scopes." },
      );
    return entry;
  }
}
