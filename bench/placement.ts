import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * Where the processes of a remote-workspace benchmark run. In production the agent, the server and the warehouse are
 * three hosts; on one small machine the local workspace and its PostgreSQL would otherwise take CPU from the server
 * (and the server from them), so the ratios would measure how the cores are shared rather than what the server adds.
 * With two or more CPUs and `taskset`, the benchmark's process (its client and the server) gets half of the CPUs and
 * the workspace's process tree the rest; children the workspace starts later inherit its CPUs. The server's half is
 * the one whose CPUs handle the interrupts of the disk its audit spool is on, as the server's own host would: on the
 * other half, the completions of the server's `fdatasync`s would interrupt the workspace's statements, and only the
 * server's.
 */
export interface Placement {
  /** One line for the report's header. */
  description: string;
  /** Puts the process tree rooted at `upstreamPid` on the upstream's CPUs and this process on the server's. */
  separate(upstreamPid: number): void;
  /** Gives this process every CPU again (the upstream is gone). */
  release(): void;
}

const SHARED: Placement = {
  description: "all processes share every CPU",
  separate: () => undefined,
  release: () => undefined,
};

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The pids of the tree rooted at `pid`, read from /proc (Linux). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = statFields(Number(entry))?.[1];
    if (parent === undefined) continue;
    const list = children.get(Number(parent)) ?? [];
    list.push(Number(entry));
    children.set(Number(parent), list);
  }
  const tree: number[] = [];
  const visit = (p: number) => {
    tree.push(p);
    for (const child of children.get(p) ?? []) visit(child);
  };
  visit(pid);
  return tree;
}

/** The fields of /proc/PID/stat after the command name (index 0 is the state); undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) the tree rooted at `pid` has used so far, its live processes only. */
export function treeCpuSeconds(pid: number): number {
  const ticksPerSecond = 100;
  return processTree(pid).reduce((sum, p) => {
    const f = statFields(p);
    return f ? sum + (Number(f[11]) + Number(f[12])) / ticksPerSecond : sum;
  }, 0);
}

/** Every thread of one process on `cpus`. */
function pinProcess(pid: number, cpus: string): void {
  try {
    execFileSync("taskset", ["-a", "-cp", cpus, String(pid)], { stdio: "ignore" });
  } catch {
    // A process that ended meanwhile has nothing left to place.
  }
}

/** Every process of the tree rooted at `pid` on `cpus`. */
function pinTree(pid: number, cpus: string): void {
  for (const p of processTree(pid)) pinProcess(p, cpus);
}

/**
 * Interrupts handled so far by each CPU, summed over the interrupt numbers given, from the text of `/proc/interrupts`
 * (a header of CPU names, then one line per interrupt: its number, a count per CPU, its description).
 */
export function interruptsPerCpu(procInterrupts: string, irqs: ReadonlySet<number>): number[] {
  const [header = "", ...lines] = procInterrupts.split("\n");
  const cpus = header
    .trim()
    .split(/\s+/)
    .filter((name) => /^CPU\d+$/.test(name));
  const counts = cpus.map(() => 0);
  for (const line of lines) {
    const match = /^\s*(\d+):((?:\s+\d+)+)/.exec(line);
    if (!match || !irqs.has(Number(match[1]))) continue;
    match[2]!
      .trim()
      .split(/\s+/)
      .slice(0, cpus.length)
      .forEach((count, i) => (counts[i]! += Number(count)));
  }
  return counts;
}

/**
 * The interrupt numbers of the disk that holds `dir`: its block device's parent PCI function's MSI vectors (or its one
 * legacy line). None for a file system without a disk of its own (tmpfs), or where sysfs does not say.
 */
export function diskInterrupts(dir: string): Set<number> {
  try {
    const { dev } = statSync(dir, { bigint: true });
    // glibc's major() and minor() of a Linux device number.
    const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
    const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
    // A device sysfs does not list (tmpfs has none) throws here, and the default placement stands.
    for (let at = realpathSync(`/sys/dev/block/${major}:${minor}`); at.startsWith("/sys/devices/"); at = dirname(at)) {
      if (existsSync(join(at, "msi_irqs"))) return new Set(readdirSync(join(at, "msi_irqs")).map(Number));
      const legacy = existsSync(join(at, "irq")) ? Number(readFileSync(join(at, "irq"), "utf8")) : 0;
      if (legacy > 0) return new Set([legacy]);
    }
  } catch {
    // No sysfs or no such device here: the default placement stands.
  }
  return new Set();
}

/** The text of `/proc/interrupts`; empty where it cannot be read (every CPU then counts nothing). */
function procInterrupts(): string {
  try {
    return readFileSync("/proc/interrupts", "utf8");
  } catch {
    return "";
  }
}

/**
 * Which `half` of `n` CPUs the server gets, the first or the last: the one whose CPUs handled more of the spool disk's
 * interrupts, and the first when neither did (no disk, or a device whose completions come on every CPU alike).
 */
export function serverHalf(n: number, diskInterruptsPerCpu: readonly number[]): "first" | "last" | "first, by default" {
  const half = Math.floor(n / 2);
  const sum = (from: number, to: number) => diskInterruptsPerCpu.slice(from, to).reduce((s, c) => s + c, 0);
  const first = sum(0, half);
  const last = sum(n - half, n);
  return last > first ? "last" : first > last ? "first" : "first, by default";
}

/** Separate CPUs for the server side and the upstream when the machine allows it; otherwise shared. */
export function cpuPlacement(spoolDir = tmpdir()): Placement {
  const n = availableParallelism();
  if (n < 2 || process.platform !== "linux" || !hasTaskset()) return SHARED;
  const half = Math.floor(n / 2);
  const range = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);
  const irqs = diskInterrupts(spoolDir);
  const side = irqs.size === 0 ? "first, by default" : serverHalf(n, interruptsPerCpu(procInterrupts(), irqs));
  const server = side === "last" ? range(n - half, n - 1) : range(0, half - 1);
  const upstream = side === "last" ? range(0, n - half - 1) : range(half, n - 1);
  const all = range(0, n - 1);
  const why = side === "first, by default" ? "" : " (where the audit spool disk's interrupts are handled)";
  return {
    description: `client and server on CPU ${server}${why}, local workspace and PostgreSQL on CPU ${upstream}`,
    separate(upstreamPid) {
      pinTree(upstreamPid, upstream);
      pinProcess(process.pid, server);
    },
    release: () => pinProcess(process.pid, all),
  };
}
