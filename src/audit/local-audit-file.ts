import { mkdirSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import type { StatementExecutor } from "./audit-trail.js";
import { AUDIT_COLUMNS } from "./audit-insert.js";

/** `r<index>_<column>`: how a batch INSERT names each record's values. */
const PARAMETER = /^r(\d+)_(.+)$/;
const COLUMN_TYPES = new Map(AUDIT_COLUMNS);

/**
 * The audit writer when there is no service principal (stdio with the user's own token): each batch the spool hands
 * over is appended to a JSON Lines file, one record per line with the audit table's columns, and synced before the
 * spool lets it go. A crash between the two may repeat a record; its record_id tells the copies apart.
 */
export function localAuditFileWriter(path: string): StatementExecutor {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  return async (_statement, parameters) => {
    const records = new Map<number, Record<string, string | number | null>>();
    for (const { name, value } of parameters) {
      const m = PARAMETER.exec(name);
      const column = m?.[2];
      if (!m || !column || !COLUMN_TYPES.has(column)) continue;
      const record = records.get(Number(m[1])) ?? {};
      record[column] = COLUMN_TYPES.get(column) === "INT" && value !== null ? Number(value) : value;
      records.set(Number(m[1]), record);
    }
    if (records.size === 0) return;
    const lines = [...records.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, record]) => JSON.stringify(record))
      .join("\n");
    const file = await open(path, "a", 0o600);
    try {
      await file.appendFile(`${lines}\n`);
      await file.datasync();
    } finally {
      await file.close();
    }
  };
}
