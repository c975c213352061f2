/**
 * A token request's client authentication (RFC 6749 §2.3.1): client_secret_basic (form-encoded id and secret in the
 * Basic header) when sent, else client_secret_post; a public client sends only client_id.
 */
export function clientCredentialsOf(
  authorization: string | undefined,
  form: URLSearchParams,
): { id?: string; secret?: string } {
  const basic = authorization ? /^Basic\s+(.+)$/i.exec(authorization) : null;
  if (basic) {
    const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0)
      return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  return { id: form.get("client_id") ?? undefined, secret: form.get("client_secret") ?? undefined };
}
