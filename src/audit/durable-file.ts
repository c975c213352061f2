import { constants, fdatasync, write } from "node:fs";
import { promisify } from "node:util";

const writeAsync = promisify(write);
const datasync = promisify(fdatasync);

/**
 * Append-only, and where the platform has O_DSYNC every write returns only once its data is on disk: one trip to the
 * thread pool per batch instead of a write and then an fdatasync.
 */
export const APPEND_DURABLY = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_DSYNC ?? 0);

/** Writes all of `text` at the end of an append-mode file (a short write continues where it stopped), durably. */
export async function writeDurably(fd: number, text: string): Promise<void> {
  const buffer = Buffer.from(text);
  for (let offset = 0; offset < buffer.length;) {
    const { bytesWritten } = await writeAsync(fd, buffer, offset, buffer.length - offset);
    offset += bytesWritten;
  }
  if (constants.O_DSYNC === undefined) await datasync(fd);
}
