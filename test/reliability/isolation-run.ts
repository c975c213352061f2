import type { TestStack } from "../support/server.js";
import { federationBearer, oboBearer } from "../support/mcp-clients.js";
import { inParallel, rpc, toolAnswer, toolCall } from "../security/support.js";

/** One caller of the load: how it authenticates and what Unity Catalog and the server must let it see. */
interface Caller {
  label: string;
  mode: "federation" | "obo" | "m2m";
  headers: Record<string, string>;
  /** current_user() in the workspace. */
  principal: string;
  human: string | null;
  groups: string[];
}

export interface IsolationReport {
  calls: number;
  byTool: Record<string, number>;
  byCaller: Record<string, number>;
  rowsChecked: number;
  refusalsExpected: number;
  /** Calls that ran out of their deadline while queued behind the load: a clear error, never a leak. */
  timeouts: number;
  leaks: string[];
  unexpectedErrors: string[];
}

/** A small seeded PRNG, so a run's interleaving can be replayed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed's row filter and mask, restated as the oracle each response is checked against. */
function maySee(caller: Caller, row: Record<string, unknown>): boolean {
  const member = (g: string) => caller.groups.includes(g);
  return (
    ["admin", "executive", "finance", "managers"].some(member) ||
    (row.region === "WEST" && member("west_sales")) ||
    (row.region === "EAST" && member("east_sales")) ||
    row.owner_email === caller.principal
  );
}
const maskLifted = (caller: Caller) => ["finance", "executive", "admin"].some((g) => caller.groups.includes(g));

async function callersOf(stack: TestStack): Promise<Caller[]> {
  const { seed } = stack.workspace.context;
  const roles = Object.keys(stack.app.config.identity.federation.roleToServicePrincipal);
  const callers: Caller[] = [];
  for (const role of roles) {
    const sp = seed.servicePrincipals.find(
      (s) => s.applicationId === stack.app.config.identity.federation.roleToServicePrincipal[role],
    )!;
    const user = seed.users.find((u) => u.role === role)!;
    callers.push({
      label: `federation:${role}`,
      mode: "federation",
      headers: await federationBearer(stack.workspace, role),
      principal: sp.applicationId,
      human: user.idpSubject ?? user.userName,
      groups: sp.groups,
    });
  }
  for (const userName of [
    "wendy.west@example.com",
    "evan.east@example.com",
    "olivia.obo@example.com",
    "ada.admin@example.com",
  ]) {
    const user = seed.users.find((u) => u.userName === userName)!;
    callers.push({
      label: `obo:${userName}`,
      mode: "obo",
      headers: await oboBearer(stack.workspace, userName),
      principal: userName,
      human: userName,
      groups: user.groups,
    });
  }
  const server = seed.servicePrincipals.find((s) => s.displayName === "mcp-server-sp")!;
  callers.push({
    label: "m2m:server",
    mode: "m2m",
    headers: {},
    principal: server.applicationId,
    human: null,
    groups: server.groups,
  });
  return callers;
}

/**
 * Runs `calls` interleaved tool calls over HTTP, `concurrency` in flight, across every role and mode, and checks every
 * answer against what its caller may see: identity, rows (region / owner), margin masking. Any difference is a leak.
 */
export async function runIsolationLoad(
  stack: TestStack,
  calls: number,
  concurrency = 64,
  seed = 20261123,
): Promise<IsolationReport> {
  const callers = await callersOf(stack);
  const random = prng(seed);
  const report: IsolationReport = {
    calls: 0,
    byTool: {},
    byCaller: {},
    rowsChecked: 0,
    refusalsExpected: 0,
    timeouts: 0,
    leaks: [],
    unexpectedErrors: [],
  };
  const others = (me: Caller) => callers.filter((c) => c.principal !== me.principal).map((c) => c.principal);
  const plan = Array.from({ length: calls }, () => {
    const caller = callers[Math.floor(random() * callers.length)]!;
    const pick = random();
    const regions = [undefined, "WEST", "EAST", "CENTRAL"] as const;
    if (pick < 0.55) return { caller, tool: "check_identity", args: {} };
    if (pick < 0.7) {
      const region = regions[Math.floor(random() * regions.length)];
      return {
        caller,
        tool: "query_sales_data",
        args: {
          ...(region ? { region } : {}),
          limit: 20 + Math.floor(random() * 180),
          order: random() < 0.5 ? "asc" : "desc",
        },
      };
    }
    return { caller, tool: "query_knowledge_base", args: { query: "discount approval policy", num_results: 3 } };
  });

  await inParallel(plan.length, concurrency, async (i) => {
    const { caller, tool, args } = plan[i]!;
    const started = Date.now();
    let answer;
    try {
      answer = toolAnswer(await rpc(stack.mcpUrl, toolCall(tool, args), caller.headers));
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? String(err);
      report.unexpectedErrors.push(
        `#${i} ${caller.label} ${tool}: transport ${cause} after ${Date.now() - started} ms`,
      );
      return;
    }
    report.calls += 1;
    report.byTool[tool] = (report.byTool[tool] ?? 0) + 1;
    report.byCaller[caller.label] = (report.byCaller[caller.label] ?? 0) + 1;
    const where = `#${i} ${caller.label} ${tool}`;
    if (answer.code === "TIMEOUT") return void (report.timeouts += 1);
    if (tool === "check_identity") {
      if (answer.isError) return void report.unexpectedErrors.push(`${where}: ${answer.text.slice(0, 160)}`);
      const s = answer.structured as { workspace_principal: string; human: string | null; mode: string };
      if (s.workspace_principal !== caller.principal) report.leaks.push(`${where}: acted as ${s.workspace_principal}`);
      if (s.human !== caller.human) report.leaks.push(`${where}: human ${s.human}`);
      if (s.mode !== caller.mode) report.leaks.push(`${where}: mode ${s.mode}`);
      const text = JSON.stringify(answer.structured) + answer.text;
      for (const other of others(caller)) if (text.includes(other)) report.leaks.push(`${where}: names ${other}`);
      return;
    }
    if (tool === "query_sales_data") {
      const entitled = caller.groups.some((g) =>
        ["users", "west_sales", "east_sales", "managers", "executive", "finance", "admin"].includes(g),
      );
      if (answer.isError) {
        // The server's own identity holds no SELECT on the deals table: a refusal is the right answer.
        if (!entitled && ["ACCESS_DENIED", "QUERY_FAILED"].includes(answer.code ?? "")) report.refusalsExpected += 1;
        else report.unexpectedErrors.push(`${where}: ${answer.text.slice(0, 160)}`);
        return;
      }
      const s = answer.structured as { columns: string[]; rows: unknown[][] };
      if (!entitled && s.rows.length > 0) report.leaks.push(`${where}: ${s.rows.length} rows without SELECT`);
      for (const raw of s.rows) {
        const row = Object.fromEntries(s.columns.map((c, n) => [c, raw[n]]));
        report.rowsChecked += 1;
        if (!maySee(caller, row))
          report.leaks.push(
            `${where}: row ${String(row.deal_id)} region ${String(row.region)} owner ${String(row.owner_email)}`,
          );
        if (!maskLifted(caller) && row.margin_pct !== null)
          report.leaks.push(`${where}: margin_pct unmasked on ${String(row.deal_id)}`);
        if (maskLifted(caller) && row.margin_pct === null)
          report.leaks.push(`${where}: margin_pct masked for an entitled caller`);
        if ((args as { region?: string }).region && row.region !== (args as { region?: string }).region)
          report.leaks.push(`${where}: filter ignored, got ${String(row.region)}`);
      }
      return;
    }
    if (answer.isError && caller.mode !== "m2m") report.unexpectedErrors.push(`${where}: ${answer.text.slice(0, 160)}`);
  });
  return report;
}
