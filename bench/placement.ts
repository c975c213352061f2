import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";

/**
 * Where the processes of a remote-workspace benchmark run. In production the agent, the server and the warehouse are
 * three hosts; on one small machine the local workspace and its PostgreSQL would otherwise take CPU from the server
 * (and the server from them), so the ratios would measure how the cores are shared rather than what the server adds.
 * With two or more CPUs and `taskset`, the benchmark's process (its client and the server) gets the first half of the
 * CPUs and the workspace's process tree the rest; children the workspace starts later inherit its CPUs.
 */
export interface Placement {
  /** One line for the report's header. */
  description: string;
  /** Puts the process tree rooted at `upstreamPid` on the upstream's CPUs and this process on the server's. */
  separate(upstreamPid: number): void;
  /** Gives this process and the tree rooted at `upstreamPid` every CPU again. */
  share(upstreamPid: number): void;
  /** Gives this process every CPU again (the upstream is gone). */
  release(): void;
}

const SHARED: Placement = {
  description: "all processes share every CPU",
  separate: () => undefined,
  share: () => undefined,
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

/** Separate CPUs for the server side and the upstream when the machine allows it; otherwise shared. */
export function cpuPlacement(): Placement {
  const n = availableParallelism();
  if (n < 2 || process.platform !== "linux" || !hasTaskset()) return SHARED;
  const half = Math.floor(n / 2);
  const range = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);
  const server = range(0, half - 1);
  const upstream = range(half, n - 1);
  const all = range(0, n - 1);
  return {
    description: `client and server on CPU ${server}, local workspace and PostgreSQL on CPU ${upstream}`,
    separate(upstreamPid) {
      pinTree(upstreamPid, upstream);
      pinProcess(process.pid, server);
    },
    share(upstreamPid) {
      pinTree(upstreamPid, all);
      pinProcess(process.pid, all);
    },
    release: () => pinProcess(process.pid, all),
  };
}
