import type { IncomingMessage, ServerResponse } from "node:http";
import type Provider from "oidc-provider";
import type { InteractionDetails } from "oidc-provider";
import { readForm } from "../http/router.js";
import type { Seed } from "../seed/schema.js";
import { escapeHtml } from "./configuration.js";
import { demoAccounts, findDemoAccount } from "./demo-accounts.js";

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/;

/** True when the path belongs to the login page rather than to oidc-provider. */
export function isInteractionPath(pathname: string): boolean {
  return INTERACTION_PATH.test(pathname);
}

/**
 * The demo login: GET lists the seed users who have an IdP subject, POST signs one in;
 * consent is granted automatically for whatever the client asked (a local test IdP, not a real one).
 */
export async function handleInteraction(
  provider: Provider,
  seed: Seed,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): Promise<void> {
  const [, uid, login] = INTERACTION_PATH.exec(pathname) ?? [];
  let details: InteractionDetails;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    return sendPage(
      res,
      400,
      "Login expired",
      "<p>This login is unknown or has expired. Start again from your client.</p>",
    );
  }
  if (details.uid !== uid)
    return sendPage(res, 400, "Login mismatch", "<p>This login does not belong to this browser session.</p>");

  if (req.method === "POST" && login !== undefined) {
    const accountId = (await readForm(req)).get("account") ?? "";
    if (findDemoAccount(seed, accountId) === undefined)
      return sendPage(res, 400, "Unknown user", "<p>Pick one of the listed demo users.</p>");
    return provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
  }
  if (req.method !== "GET" || login !== undefined) return sendPage(res, 405, "Method not allowed", "");

  if (details.prompt.name === "login")
    return sendPage(
      res,
      200,
      "Sign in to the local IdP",
      loginForm(seed, uid!, String(details.params.client_id ?? "")),
    );
  if (details.prompt.name === "consent") return grantConsent(provider, details, req, res);
  return sendPage(
    res,
    400,
    "Unsupported prompt",
    `<p>The local IdP cannot handle the prompt ${escapeHtml(details.prompt.name)}.</p>`,
  );
}

/** Grants exactly what oidc-provider reports as missing, the pattern of its documented consent example. */
async function grantConsent(
  provider: Provider,
  details: InteractionDetails,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const accountId = details.session?.accountId;
  const clientId = String(details.params.client_id ?? "");
  if (accountId === undefined) return sendPage(res, 400, "Login expired", "<p>Sign in first.</p>");
  const grant =
    (details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId)) ??
    new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
    grant.addResourceScope(resource, scopes.join(" "));
  const grantId = await grant.save();
  const consent = details.grantId === undefined ? { grantId } : {};
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

function loginForm(seed: Seed, uid: string, clientId: string): string {
  const rows = demoAccounts(seed)
    .map(
      (account) =>
        `<li><button name="account" value="${escapeHtml(account.subject)}">${escapeHtml(account.displayName)}</button> ` +
        `${escapeHtml(account.email)}${account.role === undefined ? "" : ` — role <code>${escapeHtml(account.role)}</code>`}</li>`,
    )
    .join("");
  return (
    `<p>Client <code>${escapeHtml(clientId)}</code> asks you to sign in. Pick a demo user:</p>` +
    `<form method="post" action="/interaction/${escapeHtml(uid)}/login"><ul>${rows}</ul></form>`
  );
}

function sendPage(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}
