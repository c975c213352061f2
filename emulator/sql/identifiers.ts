/** An identifier: plain, double-quoted or backticked (a regular expression's source, to compose). */
export const IDENT = /[A-Za-z_]\w*|"(?:[^"]|"")+"|`(?:[^`]|``)+`/.source;

/** The name a quoted identifier stands for (`"a""b"` → a"b, `` `a``b` `` → a`b); a plain one as written. */
export function quotedName(ident: string): string {
  if (ident.startsWith('"')) return ident.slice(1, -1).replace(/""/g, '"');
  if (ident.startsWith("`")) return ident.slice(1, -1).replace(/``/g, "`");
  return ident;
}

/** A name as a Postgres quoted identifier. */
export const pgQuoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;
