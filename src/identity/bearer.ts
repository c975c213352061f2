/** The token of an `Authorization: Bearer …` header; undefined when absent or of another scheme. */
export function bearerOf(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const header = headers.authorization;
  return header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
}
