/**
 * `databricks-governed-mcp doctor`: checks the configuration and everything the server will need at run time, with the
 * identity it will use, and says what to fix. Exit code 1 when a check fails.
 */
import { loadConfig } from "../config/load.js";
import { embeddedConfigBase } from "../config/embedded.js";
import type { Config } from "../config/schema.js";
import { withProfileHost } from "../identity/databricks-profile.js";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { formatReport, reason, type DoctorCheck } from "./doctor/report.js";
import { checkIdp, checkWorkspace } from "./doctor/discovery-checks.js";
import { checkRoleExchanges, checkServerServicePrincipal, resolveCaller } from "./doctor/identity-checks.js";
import { checkCaller } from "./doctor/resource-checks.js";
import { checkQuotaStore } from "./doctor/quota-checks.js";

export { formatReport, type CheckStatus, type DoctorCheck } from "./doctor/report.js";

export interface DoctorOptions {
  env?: Record<string, string | undefined>;
  /** A caller's token (IdP JWT or workspace token): exchange and resources are checked as that caller. */
  callerToken?: string;
  /** A running local workspace to check instead of starting one (tests). */
  localWorkspace?: LocalWorkspace;
  timeoutMs?: number;
}

/** Runs every check in order; later checks are skipped when what they need failed. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const checks: DoctorCheck[] = [];
  const add = (check: DoctorCheck) => checks.push(check);
  let env: Record<string, string | undefined>;
  try {
    // As the server does: a named ~/.databrickscfg profile also names the workspace.
    env = withProfileHost(options.env ?? process.env);
  } catch (err) {
    add({
      name: "configuration",
      status: "fail",
      detail: reason(err),
      fix: "Check DATABRICKS_CONFIG_PROFILE and ~/.databrickscfg.",
    });
    return checks;
  }
  let ownedWorkspace: LocalWorkspace | undefined;
  let localWorkspace = options.localWorkspace;

  try {
    let base: Record<string, unknown> = {};
    if (!env.DATABRICKS_HOST) {
      if (!localWorkspace) {
        const { startLocalWorkspace } = await import("../../emulator/workspace.js");
        localWorkspace = ownedWorkspace = await startLocalWorkspace({});
      }
      base = embeddedConfigBase(
        localWorkspace.context.seed,
        localWorkspace.baseUrl,
        localWorkspace.idp.issuer,
        localWorkspace.idp.jwksUri,
      );
    }
    let config: Config;
    try {
      config = loadConfig(env, base);
    } catch (err) {
      add({
        name: "configuration",
        status: "fail",
        detail: reason(err),
        fix: "Set the named variable (see README, Configuration) or fix MCP_CONFIG_FILE.",
      });
      return checks;
    }
    add({
      name: "configuration",
      status: "ok",
      detail: localWorkspace
        ? `no DATABRICKS_HOST: the embedded local workspace (${localWorkspace.baseUrl}) stands in`
        : `workspace ${config.workspace.host}, transport ${config.server.transport}`,
    });
    await checkWorkspace(config, timeoutMs, add);
    if (checks.some((c) => c.status === "fail")) return checks;
    for (const issuer of config.identity.federation.issuers) await checkIdp(issuer, timeoutMs, add);
    await checkServerServicePrincipal(config, timeoutMs, add);
    await checkRoleExchanges(config, add);
    await checkQuotaStore(config, timeoutMs, add);
    const caller = await resolveCaller(config, options.callerToken, add);
    if (caller) await checkCaller(config, caller, timeoutMs, add);
    return checks;
  } finally {
    await ownedWorkspace?.close();
  }
}

/** The `doctor` command: prints the report (or JSON) and returns the exit code. */
export async function doctorCommand(flags: { json?: boolean; callerToken?: string }): Promise<number> {
  const callerToken = flags.callerToken ?? (process.env.MCP_DOCTOR_CALLER_TOKEN || undefined);
  const checks = await runDoctor({ callerToken });
  process.stdout.write(`${flags.json ? JSON.stringify({ checks }, null, 2) : formatReport(checks)}\n`);
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}
