/**
 * `npm run bench` (full) and `npm run bench:smoke` (a short run for CI): every figure measured side by side in one run
 * against the local workspace on loopback, printed as a table with its target. `--markdown FILE` also writes the table
 * into FILE between its bench markers; `--only a,b` runs some benchmarks, or single rows of one (`overhead.c1`,
 * `overhead.c64`, `overhead.20ms`, `overhead.100ms`); `--spool disk` or `--spool tmpfs` measures the overhead rows
 * with that spool only.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import { measureCeiling } from "./ceiling.js";
import { measureConstruction } from "./construction.js";
import { measureGenie } from "./genie.js";
import { measureIdentityScale, measureSustainedMemory } from "./identities.js";
import { measureLargeResults } from "./large-results.js";
import {
  measureAddedLatency,
  measureThroughput,
  measureThroughputCurve,
  type OverheadTarget,
  type ThroughputRow,
} from "./overhead.js";
import { cpuPlacement, treeCpuSeconds } from "./placement.js";
import { startRemoteStack } from "./remote-workspace.js";
import { withStack } from "./stack.js";
import { markdownTable, textTable, type Figure } from "./stats.js";
import { measureStdio } from "./stdio.js";
import { measureQuotaChecks } from "./quota.js";
import { measureStartup } from "./startup.js";
import { measureTokenWork } from "./tokens.js";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    only: { type: "string" },
    markdown: { type: "string" },
    spool: { type: "string" },
  },
});

const FULL = {
  overhead: { calls: 2000, warmup: 200 },
  ceiling: { calls: 2000, warmup: 200 },
  stdio: { calls: 1000, warmup: 50 },
  tokens: { calls: 10_000, oboCallers: 100, coldCalls: 1000, rotations: 2 },
  genie: { messages: 20 },
  identities: { callers: 10_000, cacheSize: 1000, settleMs: 11_000 },
  memory: { calls: 100_000, identities: 10_000, cacheSize: 1000, settleMs: 11_000 },
  curve: { calls: 2000, warmup: 200 },
  large: { rows: 100_000 },
  construction: { iterations: 5000 },
  quota: { checks: 5000, warmup: 500 },
  startup: { runs: 10, embeddedRuns: 2 },
};
const SMOKE: typeof FULL = {
  overhead: { calls: 50, warmup: 10 },
  ceiling: { calls: 100, warmup: 20 },
  stdio: { calls: 30, warmup: 5 },
  tokens: { calls: 200, oboCallers: 20, coldCalls: 100, rotations: 0 },
  genie: { messages: 3 },
  identities: { callers: 200, cacheSize: 40, settleMs: 0 },
  memory: { calls: 2000, identities: 200, cacheSize: 40, settleMs: 0 },
  curve: { calls: 100, warmup: 10 },
  large: { rows: 20_000 },
  construction: { iterations: 300 },
  quota: { checks: 300, warmup: 50 },
  startup: { runs: 3, embeddedRuns: 1 },
};
const TMPFS = "/dev/shm";
/** Both overhead arms act as this service principal (executive group: every row, real margins). */
const OVERHEAD_PRINCIPAL = "fed-exchange-sp-executive";
const plan = values.smoke ? SMOKE : FULL;
const only = values.only ? new Set(values.only.split(",")) : undefined;
const wanted = (name: keyof typeof FULL) => !only || only.has(name) || [...only].some((o) => o.startsWith(`${name}.`));
/** One row of a benchmark: wanted when its benchmark or the row itself is named. */
const wantedRow = (benchmark: keyof typeof FULL, row: string) =>
  !only || only.has(benchmark) || only.has(`${benchmark}.${row}`);

function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `${availableParallelism()} CPU(s), ${cpu}, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Where the overhead rows, the curve and stdio put the server and the workspace (bench/placement.ts). */
const placement = cpuPlacement();

async function main(): Promise<void> {
  const figures: Figure[] = [];
  const started = Date.now();
  const step = async (name: string, fn: () => Promise<Figure[]>) => {
    const t0 = Date.now();
    console.error(`bench: ${name}…`);
    figures.push(...(await fn()));
    console.error(`bench: ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };

  if (wanted("overhead") || wanted("curve")) {
    // The workspace in its own process, as a real one is remote: the server's CPU does not slow the workspace down.
    const tmpfs = (!values.smoke || process.env.BENCH_TMPFS) && existsSync(TMPFS) && values.spool !== "disk";
    const spools = [...(values.spool === "tmpfs" ? [] : [undefined]), ...(tmpfs ? [TMPFS] : [])];
    const throughputRows = (["c64", "20ms", "100ms"] as const).filter((row) => wantedRow("overhead", row));
    for (const spoolRoot of spools) {
      const remote = await startRemoteStack({ spoolRoot, placement });
      const where = spoolRoot ? ", audit spool on tmpfs" : "";
      try {
        const target: OverheadTarget = {
          mcpUrl: remote.mcpUrl,
          workspaceUrl: remote.workspaceUrl,
          warehouseId: remote.app.config.workspace.warehouseId,
          salesTable: remote.app.config.workspace.salesTable,
          authorization: `Bearer ${await remote.tokenOf(OVERHEAD_PRINCIPAL)}`,
          setStatementLatency: (ms) => remote.setStatementLatency(ms),
          meter: () => {
            const { user, system } = process.cpuUsage();
            return [(user + system) / 1e6, treeCpuSeconds(remote.workspacePid)];
          },
        };
        if (wantedRow("overhead", "c1"))
          await step(`overhead c=1${where}`, () =>
            measureAddedLatency(target, plan.overhead, `overhead (HTTP, c=1${where})`),
          );
        if (throughputRows.length > 0)
          await step(`overhead c=64${where}`, () =>
            measureThroughput(
              target,
              plan.overhead,
              `overhead (HTTP, c=64${where})`,
              throughputRows.map((row): ThroughputRow => (row === "c64" ? "none" : row)),
            ),
          );
        // The curve once, with the spool where operators keep it (on disk).
        if (wanted("curve") && !spoolRoot)
          await step("throughput curve", () => measureThroughputCurve(target, plan.curve));
      } finally {
        await remote.stop();
      }
    }
  }

  if (wanted("large")) {
    const remote = await startRemoteStack();
    try {
      await step("large", () => measureLargeResults(remote, OVERHEAD_PRINCIPAL, plan.large));
    } finally {
      await remote.stop();
    }
  }

  if (wanted("stdio")) {
    const remote = await startRemoteStack({ placement });
    try {
      await step("stdio", () => measureStdio(remote, plan.stdio));
    } finally {
      await remote.stop();
    }
  }

  if (wanted("startup")) {
    const remote = await startRemoteStack();
    try {
      await step("startup", () => measureStartup(remote, plan.startup));
    } finally {
      await remote.stop();
    }
  }

  if (["construction", "ceiling", "genie"].some((name) => wanted(name as keyof typeof FULL)))
    await withStack({ genieStepDelayMs: 150 }, async (stack) => {
      if (wanted("construction"))
        await step("construction", () => measureConstruction(stack.app.config, plan.construction));
      if (wanted("ceiling")) await step("ceiling", () => measureCeiling(stack, plan.ceiling));
      if (wanted("genie")) await step("genie", () => measureGenie(stack, plan.genie));
    });
  // Counting benchmarks get a fresh workspace so every token request and JWKS fetch is theirs.
  if (wanted("tokens")) await withStack({}, (stack) => step("tokens", () => measureTokenWork(stack, plan.tokens)));
  if (wanted("identities")) {
    const remote = await startRemoteStack({
      overrides: { identity: { tokenCache: { maxEntries: plan.identities.cacheSize } } },
    });
    try {
      await step("identities", () => measureIdentityScale(remote, plan.identities));
    } finally {
      await remote.stop();
    }
  }

  if (wanted("memory")) {
    const remote = await startRemoteStack({
      overrides: { identity: { tokenCache: { maxEntries: plan.memory.cacheSize } } },
    });
    try {
      await step("memory", () => measureSustainedMemory(remote, plan.memory));
    } finally {
      await remote.stop();
    }
  }

  if (wanted("quota")) await step("quota", () => measureQuotaChecks(plan.quota));

  const header = `${values.smoke ? "smoke" : "full"} run, ${new Date(started).toISOString()}, ${machine()}, ${((Date.now() - started) / 1000).toFixed(0)} s; overhead rows, curve and stdio: ${placement.description}`;
  console.log(`\n${header}\n\n${textTable(figures)}\n`);
  if (values.markdown) writeMarkdown(values.markdown, header, figures);
}

const BEGIN = "<!-- bench:begin -->";
const END = "<!-- bench:end -->";

/** Replaces the table between the markers, keeping the rest of the document. */
function writeMarkdown(path: string, header: string, figures: Figure[]): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  }
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start === -1 || end === -1) throw new Error(`${path} lacks the ${BEGIN} / ${END} markers`);
  const table = `${BEGIN}\n\n${header}\n\n${markdownTable(figures)}\n\n${END}`;
  writeFileSync(path, `${text.slice(0, start)}${table}${text.slice(end + END.length)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
