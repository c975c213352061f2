import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { systemClock, type Clock } from "../../clock.js";
import { ErrorCodes, IdentityError } from "../../errors.js";
import { DEFAULT_FILE_LOCK_TIMING, FileLock, type FileLockTiming } from "./file-lock.js";

const SavedLogin = z.object({
  clientId: z.string(),
  accessToken: z.string(),
  refreshToken: z.string().optional(),
  /** Epoch seconds. */
  expiresAt: z.number(),
  scopes: z.array(z.string()),
  /** Who the workspace said the login is (SCIM Me userName), for display. */
  user: z.string().optional(),
});
export type SavedLogin = z.infer<typeof SavedLogin>;

const LoginCacheFile = z.object({ version: z.literal(1), logins: z.record(z.string(), SavedLogin) });
type LoginCacheFile = z.infer<typeof LoginCacheFile>;

export function defaultLoginCacheFile(): string {
  return join(homedir(), ".config", "databricks-governed-mcp", "tokens.json");
}

/** Workspace hosts are compared without trailing slashes. */
const hostKey = (host: string) => host.replace(/\/+$/, "");

/** Writes a login into the file; handed out only to code holding the file's lock. */
export type SaveLogin = (host: string, login: SavedLogin) => void;

/**
 * Saved logins per workspace host, in one JSON file readable by its owner only (0600, directory 0700). Every write
 * (a new login, a refresh) holds the lock file beside it, so none lands between another writer's read and write.
 */
export class LoginCache {
  private readonly lock: FileLock;

  constructor(
    readonly file = defaultLoginCacheFile(),
    options: { clock?: Clock; lock?: FileLockTiming } = {},
  ) {
    this.lock = new FileLock(`${file}.lock`, options.clock ?? systemClock, options.lock ?? DEFAULT_FILE_LOCK_TIMING);
  }

  /**
   * Runs `critical` while no other process (or LoginCache) holds this file's lock; `save` writes only while it runs.
   * Whoever waited must re-read the file inside: the holder before it may have refreshed the login already.
   */
  async withLock<T>(critical: (save: SaveLogin) => Promise<T>): Promise<T> {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    let entered = false;
    let held = false;
    const save: SaveLogin = (host, login) => {
      if (!held) throw new Error("A login is saved only while the login cache lock is held.");
      this.write(host, login);
    };
    try {
      return await this.lock.withLock(async () => {
        entered = held = true;
        try {
          return await critical(save);
        } finally {
          held = false;
        }
      });
    } catch (err) {
      if (entered || err instanceof IdentityError) throw err;
      throw new IdentityError(ErrorCodes.UNAUTHENTICATED, `The login cache lock ${this.lock.path} cannot be taken.`);
    }
  }

  private read(): LoginCacheFile {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, logins: {} };
      throw new IdentityError(ErrorCodes.UNAUTHENTICATED, `The login cache ${this.file} cannot be read.`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const result = LoginCacheFile.safeParse(parsed);
    if (!result.success)
      throw new IdentityError(
        ErrorCodes.UNAUTHENTICATED,
        `The login cache ${this.file} is damaged; delete it and run \`databricks-governed-mcp login\` again.`,
      );
    return result.data;
  }

  get(host: string): SavedLogin | undefined {
    const logins = this.read().logins;
    return Object.hasOwn(logins, hostKey(host)) ? logins[hostKey(host)] : undefined;
  }

  /** Saves a login (e.g. from `login`), waiting for the lock as a refresher does. */
  async put(host: string, login: SavedLogin): Promise<void> {
    await this.withLock(async (save) => save(host, login));
  }

  /** Writes atomically (temp file then rename) so a crash never leaves half a file or a readable copy. */
  private write(host: string, login: SavedLogin): void {
    const content = this.read();
    content.logins[hostKey(host)] = login;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const temp = `${this.file}.${randomBytes(6).toString("hex")}.tmp`;
    writeFileSync(temp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, this.file);
  }
}
