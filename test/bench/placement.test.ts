import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { processTree, treeCpuSeconds } from "../../bench/placement.js";

describe.runIf(process.platform === "linux")("benchmark process accounting", () => {
  it("finds a child in this process's tree and counts the CPU the tree spends", async () => {
    // The child burns CPU until killed: its seconds are counted in the tree, read from /proc.
    const child = spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" });
    try {
      await new Promise((resolve) => child.once("spawn", resolve));
      expect(processTree(process.pid)).toContain(child.pid);
      const before = treeCpuSeconds(child.pid!);
      let after = before;
      // CPU time, not wall time, decides: wait until the child has been scheduled for a few ticks.
      while (after - before < 0.05) {
        await new Promise((resolve) => setImmediate(resolve));
        after = treeCpuSeconds(child.pid!);
      }
      // This process's tree holds the child's seconds on top of its own.
      expect(treeCpuSeconds(process.pid)).toBeGreaterThanOrEqual(after + process.cpuUsage().user / 1e6 - 0.02);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("counts nothing for a process that has ended", () => {
    expect(treeCpuSeconds(2 ** 22 + 1)).toBe(0);
  });
});
