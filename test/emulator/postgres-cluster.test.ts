import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startPostgresCluster, type PostgresCluster } from "../../emulator/postgres/cluster.js";

const started: PostgresCluster[] = [];
afterAll(async () => {
  await Promise.all(started.map((c) => c.stop()));
});

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

describe("a throw-away PostgreSQL cluster from the npm-shipped binaries", () => {
  it("starts on loopback, answers SQL as its superuser, and holds databases of its own", async () => {
    const cluster = await startPostgresCluster();
    started.push(cluster);
    expect(cluster.host).toBe("127.0.0.1");
    const [row] = await query(
      cluster.url(),
      "SELECT current_user AS who, current_setting('fsync') AS fsync, version() AS v",
    );
    expect(row).toMatchObject({ who: cluster.superuser, fsync: "off" });
    expect(String(row!.v)).toMatch(/^PostgreSQL \d+/);
    await query(cluster.url(), "CREATE DATABASE ws_one");
    const [inDb] = await query(cluster.url("ws_one"), "SELECT current_database() AS db");
    expect(inDb).toEqual({ db: "ws_one" });
  });

  it("refuses a connection with the wrong password", async () => {
    const cluster = await startPostgresCluster();
    started.push(cluster);
    const wrong = cluster.url().replace(encodeURIComponent(cluster.password), "not-the-password");
    await expect(query(wrong, "SELECT 1")).rejects.toThrow(/password authentication failed/);
  });

  it("runs two clusters side by side on different ports, and stop removes the server and its data", async () => {
    const [a, b] = await Promise.all([startPostgresCluster(), startPostgresCluster()]);
    expect(a.port).not.toBe(b.port);
    const [dir] = await query(a.url(), "SELECT current_setting('data_directory') AS d");
    const dataDir = String(dir!.d);
    expect(existsSync(dataDir)).toBe(true);
    await a.stop();
    expect(existsSync(dataDir)).toBe(false);
    await expect(query(a.url(), "SELECT 1")).rejects.toThrow();
    expect(await query(b.url(), "SELECT 1 AS one")).toEqual([{ one: 1 }]);
    await b.stop();
  });

  it("a process that exits without stopping its cluster takes the server and its data with it", async () => {
    const script = `import { startPostgresCluster } from "./emulator/postgres/cluster.ts";
      const c = await startPostgresCluster();
      const client = new (await import("pg")).default.Client({ connectionString: c.url() });
      await client.connect();
      const { rows } = await client.query("SELECT current_setting('data_directory') AS d");
      await client.end();
      console.log(JSON.stringify({ url: c.url(), dataDir: rows[0].d }));
      process.exit(0);`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
    const { url, dataDir } = JSON.parse(out.trim()) as { url: string; dataDir: string };
    // The server goes away as soon as it sees the signal; bounded generously, the bound decides nothing.
    let refused = false;
    for (const end = Date.now() + 20_000; !refused && Date.now() < end;)
      refused = await query(url, "SELECT 1").then(
        () => false,
        () => true,
      );
    expect(refused).toBe(true);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe("a cluster killed as in a crash and started again", () => {
  it("keeps the port and the data committed before the kill, refuses while down, and stop still removes everything", async () => {
    // Commits wait for their WAL to reach the kernel (fsync stays off): a process kill loses nothing.
    const cluster = await startPostgresCluster({ settings: { synchronous_commit: "on" } });
    started.push(cluster);
    await query(cluster.url(), "CREATE TABLE survivors (n int); INSERT INTO survivors SELECT generate_series(1, 100)");
    const [dir] = await query(cluster.url(), "SELECT current_setting('data_directory') AS d");
    const dataDir = String(dir!.d);
    const held = new pg.Client({ connectionString: cluster.url() });
    await held.connect();
    const dropped = new Promise<Error>((resolve) => held.on("error", resolve));

    await cluster.kill();
    expect(existsSync(dataDir)).toBe(true);
    await expect(query(cluster.url(), "SELECT 1")).rejects.toThrow();
    // A session open at the kill learns that its server is gone.
    expect((await dropped).message).toMatch(/Connection terminated unexpectedly/);
    await held.end().catch(() => undefined);

    const port = cluster.port;
    await cluster.restart();
    expect(cluster.port).toBe(port);
    expect(await query(cluster.url(), "SELECT count(*)::int AS n, sum(n)::int AS total FROM survivors")).toEqual([
      { n: 100, total: 5050 },
    ]);
    const [setting] = await query(cluster.url(), "SELECT current_setting('port') AS port");
    expect(setting).toEqual({ port: String(port) });

    await cluster.stop();
    expect(existsSync(dataDir)).toBe(false);
    await expect(query(cluster.url(), "SELECT 1")).rejects.toThrow();
  }, 120_000);

  it("refuses to restart a cluster that is still running", async () => {
    const cluster = await startPostgresCluster();
    started.push(cluster);
    await expect(cluster.restart()).rejects.toThrow(/kill it before restarting/);
    expect(await query(cluster.url(), "SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });

  it.runIf(existsSync("/dev/shm"))(
    "a killed cluster leaves none of its shared memory behind: its dynamic segments live in its data directory",
    async () => {
      const segments = () => readdirSync("/dev/shm").filter((name) => name.startsWith("PostgreSQL."));
      const before = new Set(segments());
      const cluster = await startPostgresCluster();
      const [row] = await query(
        cluster.url(),
        "SELECT current_setting('dynamic_shared_memory_type') AS kind, current_setting('data_directory') AS dir",
      );
      // initdb ran its own servers with it too (it writes what it ran with into the configuration it leaves), so
      // starting a cluster creates no segment in /dev/shm even for a moment, where another cluster's check could see it.
      const written = /^dynamic_shared_memory_type = (\w+)/m.exec(
        readFileSync(path.join(String(row!.dir), "postgresql.conf"), "utf8"),
      );
      await cluster.kill();
      await cluster.stop();
      expect(row!.kind).toBe("mmap");
      expect(written?.[1]).toBe("mmap");
      expect(segments().filter((name) => !before.has(name))).toEqual([]);
    },
  );

  it("stop after a kill, without a restart, removes the data directory the crash left behind", async () => {
    const cluster = await startPostgresCluster();
    const [dir] = await query(cluster.url(), "SELECT current_setting('data_directory') AS d");
    const dataDir = String(dir!.d);
    await cluster.kill();
    expect(existsSync(dataDir)).toBe(true);
    await cluster.stop();
    expect(existsSync(dataDir)).toBe(false);
  });
});
