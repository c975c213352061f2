/**
 * What is wrong with a workspace URL, or undefined when it is one: http(s), a host name with a domain (or loopback, or
 * an IP address), nothing but an origin. `not-a-url` would otherwise become `https://not-a-url` and be advertised.
 */
export function workspaceHostProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return "must start with https://";
  const name = parsed.hostname;
  const named = name.includes(".") || name === "localhost" || name.startsWith("[");
  if (!named || name.endsWith(".") || name.startsWith(".")) return "needs a full host name";
  if (parsed.username || parsed.password) return "must not hold credentials";
  if (parsed.search || parsed.hash || (parsed.pathname !== "/" && parsed.pathname !== ""))
    return "must be an origin, with no path";
  return undefined;
}
