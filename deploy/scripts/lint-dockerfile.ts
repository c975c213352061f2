/**
 * Lints deploy/Dockerfile and its ignore file where no Docker engine (or hadolint) is at hand: the rules this image
 * promises — pinned base, non-root user, health check, no secrets, nothing fetched at build time from a URL.
 *
 *   npx tsx deploy/scripts/lint-dockerfile.ts [path/to/Dockerfile]
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (buffer === "" && (line === "" || line.startsWith("#"))) return;
    if (buffer === "") start = i + 1;
    if (line.startsWith("#")) return;
    buffer += `${line.replace(/\\$/, "").trim()} `;
    if (!line.endsWith("\\")) {
      const m = /^(\S+)\s*(.*)$/.exec(buffer.trim())!;
      out.push({ line: start, keyword: m[1]!.toUpperCase(), args: m[2]! });
      buffer = "";
    }
  });
  return out;
}

export interface Finding {
  rule: string;
  ok: boolean;
  detail: string;
}

const SECRET_NAME = /(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CLIENT_SECRET)/i;
const SECRET_VALUE =
  /(dapi[0-9a-f]{16,}|eyJ[\w-]{10,}\.[\w-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16})/;

/** Node release lines in active or maintenance LTS (nodejs.org/en/about/previous-releases); 20 left in April 2026. */
export const SUPPORTED_NODE_LTS = [22, 24];

/** A slim official Node image of a supported LTS line, or one pinned by digest. */
function isSupportedNodeSlim(ref: string): boolean {
  if (/^node@sha256:/.test(ref)) return true;
  const m = /^node:(\d+)\.[\d.]+-[\w-]*slim/.exec(ref);
  return m !== null && SUPPORTED_NODE_LTS.includes(Number(m[1]));
}

/** Every rule, each as one finding. */
export function lintDockerfile(text: string, ignoreText: string): Finding[] {
  const instructions = parseDockerfile(text);
  const args = new Map<string, string>();
  for (const i of instructions.filter((x) => x.keyword === "ARG")) {
    const [name, value] = i.args.split("=");
    if (name && value) args.set(name.trim(), value.trim());
  }
  const stages = instructions.filter((i) => i.keyword === "FROM");
  const lastFrom = stages.at(-1);
  const finalStage = instructions.filter((i) => lastFrom && i.line >= lastFrom.line);
  const findings: Finding[] = [];
  const add = (rule: string, ok: boolean, detail: string) => findings.push({ rule, ok, detail });

  const images = stages.map((s) => {
    const ref = s.args.split(/\s+/)[0]!;
    return ref.replace(/^\$\{?(\w+)\}?$/, (_, name: string) => args.get(name) ?? ref);
  });
  const unpinned = images.filter((ref) => !/@sha256:[0-9a-f]{64}$/.test(ref) && !/:\d+\.\d+\.\d+[\w.-]*$/.test(ref));
  add("base image pinned", images.length > 0 && unpinned.length === 0, unpinned.join(", ") || images.join(", "));
  add(
    "base image is a supported Node LTS, slim",
    images.every((ref) => isSupportedNodeSlim(ref)),
    images.join(", "),
  );

  const users = finalStage.filter((i) => i.keyword === "USER");
  const lastUser = users.at(-1)?.args.trim();
  add(
    "runs as a non-root user",
    lastUser !== undefined && !/^(root|0)(:.*)?$/.test(lastUser),
    lastUser ? `USER ${lastUser}` : "no USER in the final stage",
  );
  const runAfterUser = finalStage.filter((i) => i.keyword === "RUN" && users.length > 0 && i.line > users.at(-1)!.line);
  add("no RUN after dropping root", runAfterUser.length === 0, runAfterUser.map((i) => `line ${i.line}`).join(", "));
  const chownedCode = finalStage.filter(
    (i) => i.keyword === "COPY" && /--chown=/.test(i.args) && !/--from=/.test(i.args),
  );
  add(
    "code is not owned by the runtime user",
    chownedCode.length === 0,
    chownedCode.map((i) => `line ${i.line}`).join(", "),
  );

  const health = finalStage.find((i) => i.keyword === "HEALTHCHECK");
  add(
    "HEALTHCHECK on /healthz",
    Boolean(health && !/^NONE\b/i.test(health.args) && health.args.includes("/healthz")),
    health ? `line ${health.line}` : "none",
  );
  add(
    "a volume for the audit spool",
    finalStage.some((i) => i.keyword === "VOLUME") &&
      finalStage.some((i) => i.keyword === "ENV" && /MCP_AUDIT_SPOOL_DIR=/.test(i.args)),
    "VOLUME and MCP_AUDIT_SPOOL_DIR",
  );
  add(
    "exec-form entrypoint (signals reach node)",
    finalStage.some((i) => i.keyword === "ENTRYPOINT" && i.args.trim().startsWith("[")),
    "ENTRYPOINT [...]",
  );

  const secretVars = instructions.filter(
    (i) =>
      (i.keyword === "ENV" || i.keyword === "ARG") &&
      i.args.split(/\s+/).some((pair) => SECRET_NAME.test(pair.split("=")[0] ?? "")),
  );
  add("no secret in ENV or ARG", secretVars.length === 0, secretVars.map((i) => `line ${i.line}`).join(", ") || "none");
  add("no credential literal anywhere", !SECRET_VALUE.test(text), "token, key and JWT patterns");
  const remoteAdd = instructions.filter((i) => i.keyword === "ADD" && /https?:\/\//.test(i.args));
  add("no ADD from a URL", remoteAdd.length === 0, remoteAdd.map((i) => `line ${i.line}`).join(", ") || "none");
  const latest = instructions.filter((i) => i.keyword === "FROM" && /:latest\b/.test(i.args));
  add("no :latest tag", latest.length === 0, latest.map((i) => `line ${i.line}`).join(", ") || "none");

  const ignored = ignoreText.split("\n").map((l) => l.trim());
  const mustIgnore = ["**/.env", "**/*.pem", "**/.databrickscfg", "**/.spool", "**/node_modules"];
  const missing = mustIgnore.filter((p) => !ignored.includes(p));
  add(
    "ignore file keeps credentials and local state out of the context",
    missing.length === 0,
    missing.join(", ") || "ok",
  );
  return findings;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("lint-dockerfile.ts")) {
  const dockerfile = resolve(process.argv[2] ?? resolve(import.meta.dirname, "../Dockerfile"));
  const findings = lintDockerfile(readFileSync(dockerfile, "utf8"), readFileSync(`${dockerfile}.dockerignore`, "utf8"));
  for (const f of findings) process.stderr.write(`${f.ok ? "ok  " : "FAIL"} ${f.rule}: ${f.detail}\n`);
  const failed = findings.filter((f) => !f.ok).length;
  process.stderr.write(
    failed === 0 ? `${dockerfile}: all ${findings.length} rules hold\n` : `${failed} rule(s) broken\n`,
  );
  process.exit(failed === 0 ? 0 : 1);
}
