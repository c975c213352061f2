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

/**
 * Saved logins per workspace host, in one JSON file readable by its owner only (0600, directory 0700). Refreshes
 * are serialized between processes by a lock file beside it (`withLock`).
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
   * Runs `critical` while no other process (or LoginCache) holds this file's lock. Whoever waited must re-read the
   * file inside: the holder before it may have refreshed the login already.
   */
  async withLock<T>(critical: () => Promise<T>): Promise<T> {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    let entered = false;
    try {
      return await this.lock.withLock(() => {
        entered = true;
        return critical();
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

  /** Writes atomically (temp file then rename) so a crash never leaves half a file or a readable copy. */
  put(host: string, login: SavedLogin): void {
    const content = this.read();
    content.logins[hostKey(host)] = login;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const temp = `${this.file}.${randomBytes(6).toString("hex")}.tmp`;
    writeFileSync(temp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, this.file);
  }
}
