/** oidc-provider resource indicators must be absolute URIs; a bare audience such as "databricks-governed-mcp" becomes a URN. */
export function resourceIndicatorFor(audience: string): string {
  return URL.canParse(audience) ? audience : `urn:${encodeURIComponent(audience)}`;
}

/**
 * The resource servers the local IdP issues access tokens for (RFC 8707), each by its resource indicator and the
 * audience its tokens carry. One outlives Provider rebuilds, so a registration survives a key rotation.
 */
export class ResourceServers {
  private readonly audiences = new Map<string, string>();

  /** The default resource: the federation audience under its URN, asked for when a client names no resource. */
  readonly defaultResource: string;

  constructor(defaultAudience: string) {
    this.defaultResource = resourceIndicatorFor(defaultAudience);
    this.audiences.set(this.defaultResource, defaultAudience);
  }

  /** A resource server known by its URL (an MCP server's canonical URI); its tokens' audience is that URL. */
  register(resource: string): void {
    const url = URL.parse(resource);
    if (url === null || url.hash !== "" || !["http:", "https:"].includes(url.protocol))
      throw new TypeError(`A resource indicator is an absolute http(s) URL without a fragment, not ${resource}`);
    this.audiences.set(resource, resource);
  }

  /** The audience of tokens for this resource; undefined when the IdP does not know it (invalid_target). */
  audienceOf(resource: string): string | undefined {
    return this.audiences.get(resource);
  }
}
