import { mkdirSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import type { StatementExecutor } from "./audit-trail.js";
import { RECORDS_PARAMETER } from "./audit-insert.js";

/**
 * The audit writer when there is no service principal (stdio with the user's own token): each batch the spool hands
 * over is appended to a JSON Lines file, one record per line with the audit table's columns, and synced before the
 * spool lets it go. A crash between the two may repeat a record; its record_id tells the copies apart.
 */
export function localAuditFileWriter(path: string): StatementExecutor {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  return async (_statement, parameters) => {
    const batch = parameters.find((p) => p.name === RECORDS_PARAMETER)?.value;
    const records = batch ? (JSON.parse(batch) as unknown[]) : [];
    if (records.length === 0) return;
    const lines = records.map((record) => JSON.stringify(record)).join("\n");
    const file = await open(path, "a", 0o600);
    try {
      await file.appendFile(`${lines}\n`);
      await file.datasync();
    } finally {
      await file.close();
    }
  };
}
