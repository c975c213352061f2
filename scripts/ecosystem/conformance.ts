/**
 * Runs the official MCP conformance suite (@modelcontextprotocol/conformance) server scenarios against the HTTP
 * transport, on both protocol eras: the 2025-11-25 suite (the stable line, a devDependency) with
 * conformance-baseline.yml as the expected failures, and the scenarios the pre-release line requires for
 * 2026-07-28 (pinned below, installed into a temporary prefix) with conformance-baseline-2026-07-28.yml. The suite
 * sends no credential, so this run alone serves the server with MCP_ALLOW_ANONYMOUS_M2M=true on the embedded local
 * workspace. Exits non-zero on any unexpected failure or stale baseline entry in either era.
 *
 *   npx tsx scripts/ecosystem/conformance.ts [--out DIR] [--era 2025-11-25|2026-07-28]
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, log, node22, runCommand, startStack } from "./stack.js";

/** The pre-release line of the suite, the first to hold the 2026-07-28 requirement set; pinned, bumped on purpose. */
const CONFORMANCE_NEXT = "@modelcontextprotocol/conformance@0.2.0-alpha.12";

/** The suite's pre-release line, installed once into a temporary prefix (CONFORMANCE_NEXT_DIR to choose where). */
function conformanceNext(): string {
  const prefix = process.env.CONFORMANCE_NEXT_DIR ?? join(tmpdir(), "conformance-next");
  const bin = join(prefix, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
  const stamp = join(prefix, "node_modules/@modelcontextprotocol/conformance/package.json");
  const installed = existsSync(stamp) && (JSON.parse(readFileSync(stamp, "utf8")) as { version: string }).version;
  if (installed !== CONFORMANCE_NEXT.split("@").pop()) {
    log(`installing ${CONFORMANCE_NEXT} into ${prefix} (the 2026-07-28 checks)`);
    execFileSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", prefix, CONFORMANCE_NEXT], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  return bin;
}

interface EraSuite {
  era: "2025-11-25" | "2026-07-28";
  bin: () => string;
  args: string[];
  baseline: string;
}

const SUITES: EraSuite[] = [
  {
    era: "2025-11-25",
    bin: () => join(ROOT, "node_modules/@modelcontextprotocol/conformance/dist/index.js"),
    args: [],
    baseline: join(ROOT, "scripts/ecosystem/conformance-baseline.yml"),
  },
  {
    era: "2026-07-28",
    bin: conformanceNext,
    args: ["--requirements", "2026-07-28"],
    baseline: join(ROOT, "scripts/ecosystem/conformance-baseline-2026-07-28.yml"),
  },
];

const { values } = parseArgs({ options: { out: { type: "string" }, era: { type: "string" } } });
const outRoot = values.out ?? mkdtempSync(join(tmpdir(), "conformance-"));

/** Scenario → SUCCESS/FAILURE/WARNING counts, read from the suite's per-scenario checks.json files. */
function summarize(dir: string): Map<string, { success: number; failure: number; warning: number }> {
  const summary = new Map<string, { success: number; failure: number; warning: number }>();
  for (const entry of readdirSync(dir)) {
    const scenario = entry.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T.*$/, "");
    let checks: { status: string }[] = [];
    try {
      checks = JSON.parse(readFileSync(join(dir, entry, "checks.json"), "utf8")) as { status: string }[];
    } catch {
      continue;
    }
    const s = summary.get(scenario) ?? { success: 0, failure: 0, warning: 0 };
    for (const c of checks) {
      if (c.status === "SUCCESS") s.success += 1;
      else if (c.status === "FAILURE") s.failure += 1;
      else if (c.status === "WARNING") s.warning += 1;
    }
    summary.set(scenario, s);
  }
  return summary;
}

/** One era's run against the server: its exit code, with the summary logged. */
async function runSuite(suite: EraSuite, mcpUrl: string): Promise<number> {
  const outDir = join(outRoot, suite.era);
  mkdirSync(outDir, { recursive: true });
  log(
    `conformance ${suite.era}: server scenarios against ${mcpUrl} (anonymous callers act as the server's service principal)`,
  );
  const result = await runCommand(
    node22(),
    [suite.bin(), "server", "--url", mcpUrl, ...suite.args, "--expected-failures", suite.baseline, "-o", outDir],
    { env: { PATH: process.env.PATH, HOME: tmpdir() }, timeoutMs: 300_000 },
  );
  const tail = result.stdout.slice(result.stdout.indexOf("=== SUMMARY ==="));
  process.stderr.write(`${tail.length > 0 ? tail : result.stdout.slice(-4000)}\n${result.stderr.slice(-2000)}`);
  const summary = summarize(outDir);
  const all = [...summary.values()];
  const passed = all.filter((x) => x.failure === 0 && x.warning === 0).length;
  const warned = all.filter((x) => x.failure === 0 && x.warning > 0).length;
  log(
    `conformance ${suite.era}: ${passed} passed, ${warned} with warnings only, ${summary.size - passed - warned} failed, of ${summary.size}; results in ${outDir}; exit ${result.code}`,
  );
  return result.code;
}

const stack = await startStack();
let code = 0;
try {
  const { mcpUrl } = await stack.startServer({ MCP_ALLOW_ANONYMOUS_M2M: "true" });
  for (const suite of SUITES.filter((s) => values.era === undefined || s.era === values.era))
    code = Math.max(code, await runSuite(suite, mcpUrl));
} finally {
  await stack.stop();
}
process.exit(code);
