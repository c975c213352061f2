import { createHash } from "node:crypto";

/** A SCIM id that stays the same for one name across restarts (Databricks ids are decimal strings). */
export const stableId = (name: string) =>
  String(BigInt(`0x${createHash("sha256").update(name).digest("hex").slice(0, 13)}`));
