import { createHash } from "node:crypto";
import type { Router } from "../http/router.js";
import { sendJson } from "../http/router.js";

/** Where the partner API stand-in answers, under the local workspace's own loopback address. */
export const PARTNER_BASE_PATH = "/local-services/partner";
/** The API key the seed's `partner_api` connection holds; callers never see it. */
export const PARTNER_TOKEN = "partner-local-api-key-0001";

/** A partner's credit-score API: a stable score per account name, for the connection's key only. */
export function registerPartnerStandIn(router: Router): void {
  router.add("GET", `${PARTNER_BASE_PATH}/v1/credit-scores`, ({ req, res, url }) => {
    if (req.headers.authorization !== `Bearer ${PARTNER_TOKEN}`) {
      sendJson(res, 401, { error: "unauthorized", message: "A valid API key is required." });
      return;
    }
    const account = (url.searchParams.get("account") ?? "").trim();
    if (!account) {
      sendJson(res, 400, { error: "bad_request", message: "account is required." });
      return;
    }
    const score = 300 + (createHash("sha256").update(account.toLowerCase()).digest().readUInt16BE(0) % 551);
    const band = score >= 740 ? "A" : score >= 670 ? "B" : score >= 580 ? "C" : "D";
    sendJson(res, 200, { account, score, band, as_of: "2026-10-01" });
  });
}
