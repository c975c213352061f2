import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { RELAY, serverCommand, serverWarmup } from "../../bench/stdio.js";

const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("the stdio benchmark's server", () => {
  it("runs the compiled server, as operators do", () => {
    const { command, args } = serverCommand(1);
    expect(command).toBe(process.execPath);
    expect(args).toEqual(["bin/databricks-governed-mcp.js", "--stdio"]);
  });

  it.runIf(process.platform === "linux" && hasTaskset)(
    "gets every CPU back rather than the client's CPU it would inherit",
    () => {
      const { command, args } = serverCommand(4);
      expect(command).toBe("taskset");
      expect(args).toEqual(["-c", "0-3", process.execPath, "bin/databricks-governed-mcp.js", "--stdio"]);
    },
  );

  it.runIf(process.platform === "linux" && hasTaskset)("places the bare relay as it places the server", () => {
    expect(serverCommand(4, [RELAY])).toEqual({
      command: "taskset",
      args: ["-c", "0-3", process.execPath, "bench/fixtures/bare-stdio-relay.mjs"],
    });
  });

  it("is warmed with twice the measured calls, never fewer than the plan's warm-up", () => {
    expect(serverWarmup({ calls: 1000, warmup: 50 })).toBe(2000);
    expect(serverWarmup({ calls: 10, warmup: 50 })).toBe(50);
  });
});
