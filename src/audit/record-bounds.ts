import { createHash } from "node:crypto";
import { canonicalArguments, redactArguments } from "./redact.js";
import { ISSUER_KEY, splitVerifiedIssuer } from "./issuer-in-arguments.js";

/** Printable ASCII without `"` and `\`: JSON carries such text as it is, between two quotes. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Bytes a column value adds to the INSERT request. The batch is a JSON array carried as a JSON string, so a value is
 * encoded twice: `"a\"b"` in the array is `\"a\\\"b\"` in the request.
 */
export function carriedBytes(value: string | null): number {
  if (value === null) return 4;
  // Most values are plain (ids, names, times): counted without serializing them, as this runs per column per call.
  return PLAIN_JSON.test(value) ? value.length + 4 : Buffer.byteLength(JSON.stringify(JSON.stringify(value))) - 2;
}

// Control characters (a NUL no SQL string can hold) and lone UTF-16 surrogates (no valid UTF-8 exists for them).
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Whatever `UNPRINTABLE` could match, surrogate pairs included: text without any is kept as it is. */
// eslint-disable-next-line no-control-regex
const MAYBE_UNPRINTABLE = /[\u0000-\u001f\u007f\ud800-\udfff]/;

/** Caller-influenced text for a column: unprintable characters replaced, at most `maxChars` (a cut says so). */
export function boundedText(value: string | undefined, maxChars: number): string | null {
  if (value === undefined) return null;
  const cut = value.length > maxChars ? `${value.slice(0, maxChars - 1)}…` : value;
  // Most columns are plain (ids, names, emails): one scan of a single character class, rather than the lookarounds.
  return MAYBE_UNPRINTABLE.test(cut) ? cut.replace(UNPRINTABLE, "\ufffd") : cut;
}

/** What stands in for arguments too large for their record: the start of them, and how to recognise the whole. */
export interface ArgumentsSummary {
  /** The verified Federation issuer, kept beside the summary of what the caller sent. */
  $issuer?: unknown;
  $summary: { sha256: string; bytes: number; preview: string };
}

/**
 * The arguments column: the redacted arguments as JSON when they fit in `budgetBytes` as carried by the INSERT;
 * otherwise a summary — a preview of that JSON cut to fit, plus the SHA-256 and size of the canonical arguments.
 */
export function boundedArguments(args: unknown, maxStringChars: number, budgetBytes: number): string {
  const redacted = JSON.stringify(redactArguments(args ?? {}, maxStringChars)) ?? "{}";
  if (carriedBytes(redacted) <= budgetBytes) return redacted;
  // The verified issuer stays queryable beside the summary, which describes only what the caller sent.
  const { issuer, sent } = splitVerifiedIssuer(args);
  const kept = issuer === undefined ? {} : { [ISSUER_KEY]: redactArguments(issuer, maxStringChars) };
  const shown = issuer === undefined ? redacted : (JSON.stringify(redactArguments(sent ?? {}, maxStringChars)) ?? "{}");
  const canonical = canonicalArguments(sent ?? {});
  const sha256 = createHash("sha256").update(canonical).digest("hex");
  const bytes = Buffer.byteLength(canonical);
  const summary = (length: number) => {
    let preview = shown.slice(0, length);
    // Never end on half a surrogate pair.
    if (/[\ud800-\udbff]$/.test(preview)) preview = preview.slice(0, -1);
    return JSON.stringify({ ...kept, $summary: { sha256, bytes, preview } } satisfies ArgumentsSummary);
  };
  // Every character carries at least one byte, so the longest preview that can fit is below the budget.
  let low = 0;
  let high = Math.min(shown.length, budgetBytes);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (carriedBytes(summary(mid)) <= budgetBytes) low = mid;
    else high = mid - 1;
  }
  return summary(low);
}
