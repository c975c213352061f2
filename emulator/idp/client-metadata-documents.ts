import type { errors as OidcErrors } from "oidc-provider";

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, used by MCP clients): an `https:` URL is
 * the client_id, and oidc-provider fetches the JSON document there. oidc-provider already refuses non-https ids,
 * redirects, bodies over 5 KiB, answers slower than 2.5 s, a `client_id` that differs from the URL, shared-secret
 * authentication, and connections to special-use (private, loopback, link-local) addresses; this module adds what MCP
 * requires of the document and refuses private or loopback hosts before any lookup.
 */

/** Names under the `.test` top-level domain (RFC 6761) never resolve on the Internet, so no real client has one. */
const TEST_ONLY_SUFFIX = ".test";

/** oidc-provider's `fetch` hook signature (the WHATWG fetch plus undici's `dispatcher`). */
type ProviderFetch = (url: string | URL, init: RequestInit & { dispatcher?: unknown }) => Promise<Response>;

export interface ClientMetadataDocumentOptions {
  /**
   * Test-only: the loopback origin (http://127.0.0.1:PORT) that serves the documents of client_ids whose host ends in
   * `.test`. Every other client_id is fetched by the production rules. Only code can set it (no variable, flag or
   * config field reaches it), and only for names that cannot exist outside a test.
   */
  testOnlyDocumentOrigin?: string;
}

/** The oidc-provider settings for metadata-document clients: the feature, and the fetch it uses. */
export function clientMetadataDocumentSettings(
  options: ClientMetadataDocumentOptions,
  errors: typeof OidcErrors,
): { feature: Record<string, unknown>; fetch: ProviderFetch } {
  const testOrigin = options.testOnlyDocumentOrigin;
  if (testOrigin !== undefined && !isLoopbackHttpOrigin(testOrigin))
    throw new TypeError(`testOnlyDocumentOrigin must be a loopback http origin, not ${testOrigin}`);
  const servedByTest = (host: string) => testOrigin !== undefined && host.endsWith(TEST_ONLY_SUFFIX);

  return {
    feature: {
      enabled: true,
      ack: "draft-02",
      allowFetch: async (_ctx: unknown, clientId: string) => {
        const host = URL.parse(clientId)?.hostname ?? "";
        return servedByTest(host) || !isPrivateOrLoopbackHost(host);
      },
      allowClient: async (_ctx: unknown, client: { clientName?: unknown; redirectUris?: unknown }) => {
        // MCP requires both in the document (a name a person recognises at sign-in, and where codes may go).
        if (typeof client.clientName !== "string" || client.clientName.trim() === "")
          throw new errors.InvalidClientMetadata("the client_id metadata document must name client_name");
        if (!Array.isArray(client.redirectUris) || client.redirectUris.length === 0)
          throw new errors.InvalidClientMetadata("the client_id metadata document must list redirect_uris");
        return true;
      },
      // Documents change rarely; a minute at least keeps a sign-in burst to one fetch, a day at most bounds staleness.
      cacheDuration: { min: 60, max: 86_400 },
    },
    fetch: (url, init) => {
      const target = new URL(url);
      if (!servedByTest(target.hostname)) return fetch(url, init);
      // The same request (method, headers, no redirects, time limit) to the test's loopback server instead of DNS.
      const { dispatcher: _ssrfGuard, ...rest } = init;
      return fetch(`${testOrigin}${target.pathname}${target.search}`, rest);
    },
  };
}

function isLoopbackHttpOrigin(origin: string): boolean {
  const url = URL.parse(origin);
  return url !== null && url.protocol === "http:" && url.origin === origin && isLoopbackHost(url.hostname);
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Loopback, private, link-local and unspecified literals, and localhost names: never a client's public document. */
export function isPrivateOrLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  if (name === "" || name === "localhost" || name.endsWith(".localhost")) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168)
    );
  }
  if (name.startsWith("[")) {
    const v6 = name.slice(1, -1);
    return v6 === "::" || v6 === "::1" || v6.startsWith("::ffff:") || /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6);
  }
  return false;
}
