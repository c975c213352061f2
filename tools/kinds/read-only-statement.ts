/** Statements an agent may write itself: reads only. */
const FIRST_WORDS = new Set(["SELECT", "WITH", "DESCRIBE", "DESC", "SHOW", "VALUES", "EXPLAIN"]);
/** Words that change data, grants or session state; refused anywhere outside strings, comments and `identifiers`. */
const WRITE_WORDS = new Set(
  (
    "INSERT UPDATE DELETE MERGE CREATE DROP ALTER TRUNCATE GRANT REVOKE COPY OPTIMIZE VACUUM REFRESH SET RESET USE " +
    "CALL EXECUTE MSCK LOAD REPLACE RESTORE UNDROP CACHE UNCACHE CLONE REPAIR COMMENT ANALYZE DECLARE"
  ).split(" "),
);

/**
 * The words of a statement outside string literals, comments and backquoted identifiers, and whether a `;` ends one
 * statement before another begins. Unterminated literals or comments count as refusals.
 */
function scan(sql: string): { words: string[]; statements: number } | undefined {
  const words: string[] = [];
  let statements = 0;
  let pendingEnd = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === "`") {
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === "\\" && c !== "`" ? 2 : 1;
      if (j >= sql.length) return undefined;
      i = j + 1;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      if (end === -1) return undefined;
      i = end + 2;
    } else if (c === ";") {
      pendingEnd = true;
      i += 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_]\w*/.exec(sql.slice(i))![0];
      if (pendingEnd || statements === 0) statements += 1;
      pendingEnd = false;
      words.push(word.toUpperCase());
      i += word.length;
    } else i += 1;
  }
  return { words, statements };
}

/** Why a statement is not one read-only statement, or undefined when it is. The guard is defence in depth. */
export function readOnlyRefusal(sql: string): string | undefined {
  const scanned = scan(sql);
  if (!scanned) return "the statement has an unterminated string, identifier or comment";
  const { words, statements } = scanned;
  if (statements === 0) return "the statement is empty";
  if (statements > 1) return "send one statement at a time";
  if (!FIRST_WORDS.has(words[0]!)) return `only SELECT, WITH, DESCRIBE, SHOW statements are allowed, not ${words[0]}`;
  const write = words.find((w) => WRITE_WORDS.has(w));
  if (write) return `${write} is not allowed in a read-only statement`;
  return undefined;
}
