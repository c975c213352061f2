import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { lintDockerfile } from "../../deploy/scripts/lint-dockerfile.js";

const ROOT = resolve(import.meta.dirname, "../..");
const dockerfile = readFileSync(resolve(ROOT, "deploy/Dockerfile"), "utf8");
const ignore = readFileSync(resolve(ROOT, "deploy/Dockerfile.dockerignore"), "utf8");

const broken = (findings: ReturnType<typeof lintDockerfile>) => findings.filter((f) => !f.ok).map((f) => f.rule);

describe("deploy/Dockerfile", () => {
  it("holds every rule: pinned Node 22 LTS slim, non-root, health check, spool volume, no secrets", () => {
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
    const floating = dockerfile.replace(/ARG NODE_IMAGE=\S+/, "ARG NODE_IMAGE=node:22-slim");
    expect(broken(lintDockerfile(floating, ignore))).toContain("base image pinned");
  });

  it("a Node 20 base (out of maintenance since April 2026) breaks the supported-LTS rule; Node 24 holds it", () => {
    const old = dockerfile.replace(/ARG NODE_IMAGE=\S+/, "ARG NODE_IMAGE=node:20.20.2-bookworm-slim");
    expect(broken(lintDockerfile(old, ignore))).toEqual(["base image is a supported Node LTS, slim"]);
    const next = dockerfile.replace(/ARG NODE_IMAGE=\S+/, "ARG NODE_IMAGE=node:24.12.0-bookworm-slim");
    expect(broken(lintDockerfile(next, ignore))).toEqual([]);
  });

  it("the image installs with npm ci from the lock and runs the compiled output", () => {
    const runs = dockerfile.split("\n").filter((l) => /npm (ci|install)/.test(l));
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((l) => /npm ci\b/.test(l))).toBe(true);
    expect(dockerfile).toContain("COPY --from=build /app/dist ./dist");
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(finalStage).not.toMatch(/^COPY (src|tools|emulator) /m);
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
