/**
 * docs/errors.md, generated from the one table of error classes (src/errors.ts):
 *   npx tsx scripts/docs/error-codes.ts > docs/errors.md && npx prettier --write docs/errors.md
 * test/errors.test.ts fails when the file and the table disagree.
 */
import { pathToFileURL } from "node:url";
import { ERROR_CLASSES, type ErrorCode } from "../../src/errors.js";

export function errorCodesMarkdown(): string {
  const rows = (Object.entries(ERROR_CLASSES) as [ErrorCode, (typeof ERROR_CLASSES)[ErrorCode]][]).map(
    ([code, c]) => `| \`${code}\` | ${c.status} | ${c.outcome} | ${c.advice} |`,
  );
  return [
    "# Error codes",
    "",
    "Every error the server returns starts with a stable code in brackets (`[SCOPE_MISSING] …`) and carries it in",
    "`_meta.error_code` (tool results) or `error.data.error_code` (JSON-RPC errors), with the `request_id` of its audit",
    "row. Agents branch on the code, never on the message. This table is generated from `ERROR_CLASSES` in",
    "`src/errors.ts`, the one place that decides each code's HTTP status, audit outcome and advice.",
    "",
    "The HTTP status applies when the code refuses a request before any tool runs (authentication, authorization,",
    "capacity); a tool that fails answers HTTP 200 with an error result. The audit outcome below is that of a call",
    "that reached the dispatcher; a refusal by this server's policy, and any request refused before a tool ran (at the",
    "door, or a malformed `tools/call`), is audited as `denied` whatever its code. Every row is built in",
    "`src/audit/audit-entry.ts`.",
    "",
    "| code | HTTP status | audit outcome | what to do |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.stdout.write(errorCodesMarkdown());
