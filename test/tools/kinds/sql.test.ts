import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorkspace } from "../../../emulator/workspace.js";
import type { WorkspaceHttpClient } from "../../../src/databricks/http-client.js";
import { ErrorCodes, type GovernedError } from "../../../src/errors.js";
import { buildToolCatalog } from "../../../src/mcp/tool-catalog.js";
import { buildCatalog } from "../../../tools/catalog/load.js";
import { closeKindWorkspace, startKindWorkspace, userToolContext } from "../../support/tool-context.js";

const USER = "wendy.west@example.com";
let workspace: LocalWorkspace;
let http: WorkspaceHttpClient;
let warehouse: string;
beforeAll(async () => {
  ({ workspace, http } = await startKindWorkspace());
  warehouse = workspace.context.seed.warehouses[0]!.id;
});
afterAll(() => closeKindWorkspace({ workspace, http }));

const base = {
  name: "my_deals",
  kind: "sql",
  title: "My deals",
  description: "Deals I own, newest first, with an optional minimum amount.",
  warehouse: "wh",
  statement:
    "SELECT :me AS me, deal_id, amount FROM main.sales.deals WHERE owner_email = :me AND amount >= COALESCE(:min_amount, 0) {{order}} LIMIT :row_limit",
  parameters: [
    { name: "me", fromIdentity: "email" },
    { name: "min_amount", type: "number", description: "Only deals of at least this amount." },
  ],
  choices: [
    {
      name: "order",
      description: "Biggest or smallest deals first.",
      options: { biggest: "ORDER BY amount DESC, deal_id", smallest: "ORDER BY amount ASC, deal_id" },
      default: "biggest",
    },
  ],
};
const build = (entry: Record<string, unknown>) =>
  buildToolCatalog(buildCatalog({ tools: [entry] }, { workspace: {} }).tools).get(entry.name as string)!;

describe("the sql kind", () => {
  it("shows the model only the parameters it may supply, choices among fixed fragments, and a limit", () => {
    const { listing } = build(base);
    expect(Object.keys(listing.inputSchema.properties ?? {})).toEqual(["min_amount", "order", "limit"]);
    expect(listing.inputSchema.additionalProperties).toBe(false);
  });

  it.each([
    ["a bound parameter passed as an argument", { me: "ada.admin@example.com" }],
    ["a choice that is not one of the fragments", { order: "amount; DROP TABLE x" }],
    ["a value of the wrong type", { min_amount: "100" }],
  ])("refuses %s before anything is sent", (_case, args) => {
    expect(build(base).input.safeParse(args).success).toBe(false);
  });

  it.each([
    [
      "a :marker that is no declared parameter",
      { statement: "SELECT :x", parameters: [] },
      /:x is not a declared parameter/,
    ],
    ["a parameter the statement never uses", { statement: "SELECT 1", choices: [] }, /me does not appear as :me/],
    [
      "a {{place}} with no choice",
      { statement: "SELECT :me, :min_amount {{sort}}" },
      /\{\{sort\}\} is not a declared choice/,
    ],
    [
      "an unbound parameter without a description",
      { parameters: [{ name: "me" }], statement: "SELECT :me", choices: [] },
      /give the parameter a description/,
    ],
  ])("refuses an entry with %s", (_case, change, message) => {
    expect(() => build({ ...base, ...change })).toThrow(message);
  });

  it("binds the caller's verified email, whatever the arguments say, and runs as the caller", async () => {
    const { definition } = build({ ...base, warehouse });
    const ctx = await userToolContext(workspace, http, USER);
    const out = await definition.handler({ order: "smallest", limit: 5, me: "ada.admin@example.com" }, ctx);
    const s = out.structured as { columns: string[]; rows: unknown[][] };
    expect(s.rows.length).toBeGreaterThan(0);
    expect(new Set(s.rows.map((r) => r[0]))).toEqual(new Set([USER]));
    const amounts = s.rows.map((r) => r[2] as number);
    expect(amounts).toEqual([...amounts].sort((a, b) => a - b));
  });

  it("refuses a caller whose credential carries no email, rather than binding an empty value", async () => {
    const { definition } = build({ ...base, warehouse });
    const ctx = await userToolContext(workspace, http, USER, { mode: "m2m", human: undefined });
    const error = await definition.handler({ limit: 5 }, ctx).catch((e: GovernedError) => e);
    expect((error as GovernedError).code).toBe(ErrorCodes.TOOL_NOT_ALLOWED);
  });
});
