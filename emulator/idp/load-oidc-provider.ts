/** oidc-provider prints notices (e.g. "Unsupported runtime" on Node 20) on import and construction; keep tests quiet. */
export async function loadOidcProvider(): Promise<typeof import("oidc-provider")> {
  return withoutOidcProviderNotices(() => import("oidc-provider"));
}

/* eslint-disable no-console -- this swaps console methods to drop oidc-provider notices; it prints nothing itself */
/** Runs fn with oidc-provider's own console notices dropped; every other console output passes through. */
export async function withoutOidcProviderNotices<T>(fn: () => T | Promise<T>): Promise<T> {
  const { warn, info } = console;
  const isNotice = (args: unknown[]) => typeof args[0] === "string" && args[0].includes("oidc-provider ");
  console.warn = (...args: unknown[]) => (isNotice(args) ? undefined : warn(...args));
  console.info = (...args: unknown[]) => (isNotice(args) ? undefined : info(...args));
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}
