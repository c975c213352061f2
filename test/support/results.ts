/** Rows of a tool's structured result as objects, whatever the column descriptor shape ({name} or plain names). */
export function rowsAsObjects(structured: unknown): Record<string, unknown>[] {
  const s = structured as { columns?: unknown[]; rows?: unknown[] };
  const names = (s.columns ?? []).map((c) => (typeof c === "string" ? c : (c as { name: string }).name));
  return (s.rows ?? []).map((row) => {
    if (!Array.isArray(row)) return row as Record<string, unknown>;
    return Object.fromEntries(names.map((n, i) => [n, row[i]]));
  });
}

export function textOf(result: unknown): string {
  const content = ((result as { content?: unknown }).content ?? []) as { type: string; text?: string }[];
  return content.map((c) => c.text ?? "").join("\n");
}
