/**
 * Runs the official MCP conformance suite (@modelcontextprotocol/conformance) server scenarios against the HTTP
 * transport, with conformance-baseline.yml as the expected failures. The suite sends no credential, so this run
 * alone serves the server with MCP_ALLOW_ANONYMOUS_M2M=true on the embedded local workspace. Exits non-zero on any
 * unexpected failure or stale baseline entry.
 *
 *   npx tsx scripts/ecosystem/conformance.ts [--out DIR]
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, log, node22, runCommand, startStack } from "./stack.js";

const CONFORMANCE = join(ROOT, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
const BASELINE = join(ROOT, "scripts/ecosystem/conformance-baseline.yml");

const { values } = parseArgs({ options: { out: { type: "string" } } });
const outDir = values.out ?? mkdtempSync(join(tmpdir(), "conformance-"));

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

const stack = await startStack();
let code = 1;
try {
  const { mcpUrl } = await stack.startServer({ MCP_ALLOW_ANONYMOUS_M2M: "true" });
  log(`conformance: server scenarios against ${mcpUrl} (anonymous callers act as the server's service principal)`);
  const result = await runCommand(
    node22(),
    [CONFORMANCE, "server", "--url", mcpUrl, "--expected-failures", BASELINE, "-o", outDir],
    { env: { PATH: process.env.PATH, HOME: tmpdir() }, timeoutMs: 240_000 },
  );
  code = result.code;
  const tail = result.stdout.slice(result.stdout.indexOf("=== SUMMARY ==="));
  process.stderr.write(`${tail.length > 0 ? tail : result.stdout.slice(-4000)}\n${result.stderr.slice(-2000)}`);
  const summary = summarize(outDir);
  const all = [...summary.values()];
  const passed = all.filter((x) => x.failure === 0 && x.warning === 0).length;
  const warned = all.filter((x) => x.failure === 0 && x.warning > 0).length;
  log(
    `conformance: ${passed} passed, ${warned} with warnings only, ${summary.size - passed - warned} failed, of ${summary.size}; results in ${outDir}`,
  );
} finally {
  await stack.stop();
}
process.exit(code);
