import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { lintDockerfile } from "../../deploy/scripts/lint-dockerfile.js";

const ROOT = resolve(import.meta.dirname, "../..");
const dockerfile = readFileSync(resolve(ROOT, "deploy/Dockerfile"), "utf8");
const ignore = readFileSync(resolve(ROOT, "deploy/Dockerfile.dockerignore"), "utf8");

const broken = (findings: ReturnType<typeof lintDockerfile>) => findings.filter((f) => !f.ok).map((f) => f.rule);

describe("deploy/Dockerfile", () => {
  it("holds every rule: pinned Node 20 slim, non-root, health check, spool volume, no secrets", () => {
    expect(broken(lintDockerfile(dockerfile, ignore))).toEqual([]);
  });

  it("a final stage left as root breaks the non-root rule", () => {
    expect(broken(lintDockerfile(dockerfile.replace("USER node", "USER root"), ignore))).toContain(
      "runs as a non-root user",
    );
  });

  it("a missing HEALTHCHECK breaks the health check rule", () => {
    const without = dockerfile.replace(/HEALTHCHECK[^\n]*\\\n[^\n]*\n/, "");
    expect(without).not.toContain("HEALTHCHECK");
    expect(broken(lintDockerfile(without, ignore))).toEqual(["HEALTHCHECK on /healthz"]);
  });

  it("a floating base tag breaks the pinning rule", () => {
    const floating = dockerfile.replace("ARG NODE_IMAGE=node:20.20.2-bookworm-slim", "ARG NODE_IMAGE=node:20-slim");
    expect(broken(lintDockerfile(floating, ignore))).toContain("base image pinned");
  });

  it("a secret baked into ENV or a token literal breaks the no-secret rules", () => {
    const leaky = dockerfile.replace(
      "LOG_FORMAT=json",
      "LOG_FORMAT=json \\\n    DATABRICKS_TOKEN=dapi0123456789abcdef0123",
    );
    expect(broken(lintDockerfile(leaky, ignore))).toEqual([
      "no secret in ENV or ARG",
      "no credential literal anywhere",
    ]);
  });

  it("an ignore file that lets .env or .databrickscfg into the build context is refused", () => {
    expect(broken(lintDockerfile(dockerfile, ignore.replace("**/.databrickscfg\n", "")))).toEqual([
      "ignore file keeps credentials and local state out of the context",
    ]);
  });
});
