import { spawn } from "node:child_process";
import { existsSync, statfsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { diskInterrupts, interruptsPerCpu, processTree, serverHalf, treeCpuSeconds } from "../../bench/placement.js";

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

/** A `/proc/interrupts` as a two-CPU virtual machine shows it: a virtio disk (35, 36) and a virtio NIC (38, 39). */
const PROC_INTERRUPTS = [
  "           CPU0       CPU1       ",
  "  1:          9          0   IO-APIC   1-edge      i8042",
  " 35:          0          1 PCI-MSIX-0000:00:02.0   0-edge      virtio1-config",
  " 36:         12    2742373 PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0",
  " 38:          0      63835 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0",
  " 39:      57242          0 PCI-MSIX-0000:00:03.0   2-edge      virtio2-output.0",
  "NMI:          0          0   Non-maskable interrupts",
  "LOC:    1234567    7654321   Local timer interrupts",
  "ERR:          0",
].join("\n");

/** tmpfs has no block device of its own (TMPFS_MAGIC is its file system type). */
const shmIsTmpfs = process.platform === "linux" && existsSync("/dev/shm") && statfsSync("/dev/shm").type === 0x01021994;

describe("where the spool disk's interrupts are handled", () => {
  it.each([
    { irqs: [35, 36], counts: [12, 2742374] },
    { irqs: [39], counts: [57242, 0] },
    { irqs: [36, 39], counts: [57254, 2742373] },
    // Named lines (NMI, LOC) and numbers not asked for count nothing.
    { irqs: [40], counts: [0, 0] },
    { irqs: [], counts: [0, 0] },
  ])("counts interrupts $irqs per CPU as $counts", ({ irqs, counts }) => {
    expect(interruptsPerCpu(PROC_INTERRUPTS, new Set(irqs))).toEqual(counts);
  });

  it.each([
    { n: 2, counts: [12, 2742374], half: "last" },
    { n: 2, counts: [2742374, 12], half: "first" },
    // A device whose completions come on every CPU alike, or no disk at all, keeps the default.
    { n: 2, counts: [500, 500], half: "first, by default" },
    { n: 2, counts: [0, 0], half: "first, by default" },
    // Four CPUs: halves of two, compared by their sums.
    { n: 4, counts: [10, 10, 0, 30], half: "last" },
    { n: 4, counts: [10, 30, 0, 30], half: "first" },
    // Three CPUs: the server gets one, the first or the last; the middle one is the workspace's either way.
    { n: 3, counts: [0, 900, 5], half: "last" },
    { n: 3, counts: [5, 900, 0], half: "first" },
  ])("with $n CPUs and $counts gives the server the $half half", ({ n, counts, half }) => {
    expect(serverHalf(n, counts)).toBe(half);
  });

  it.runIf(shmIsTmpfs)("finds no disk under tmpfs", () => {
    expect(diskInterrupts("/dev/shm").size).toBe(0);
  });

  it("finds no disk for a path that does not exist", () => {
    expect(diskInterrupts("/no/such/directory/here").size).toBe(0);
  });
});
