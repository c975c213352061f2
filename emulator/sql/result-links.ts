import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Clock } from "../../src/clock.js";
import type { Router } from "../http/router.js";
import type { EncodedChunk } from "./result-formats.js";

/** Databricks' external links last at most 15 minutes. */
export const LINK_LIFETIME_MS = 15 * 60 * 1000;
export const RESULT_LINK_PATH = "/results";

interface Link {
  statementId: string;
  chunk: EncodedChunk;
  expiresAt: number;
}

/** An object-storage style refusal (the XML body cloud storage answers a bad presigned URL with). */
function storageError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Short-lived, unguessable URLs to result chunks, served by the local workspace as presigned cloud-storage URLs are:
 * the URL is the credential, so a request carrying an Authorization header is refused, as storage refuses two
 * authentication mechanisms; a link expires on the workspace's clock and dies with its statement.
 */
export class ResultLinks {
  private readonly links = new Map<string, Link>();

  constructor(
    private readonly clock: Clock,
    private readonly baseUrl: () => string,
  ) {}

  /** A new link to `chunk` of `statementId`: `external_link` and its `expiration`. */
  issue(statementId: string, chunk: EncodedChunk): { external_link: string; expiration: string } {
    const now = this.clock.now();
    for (const [token, link] of this.links) if (link.expiresAt <= now) this.links.delete(token);
    const token = randomBytes(32).toString("base64url");
    const expiresAt = now + LINK_LIFETIME_MS;
    this.links.set(token, { statementId, chunk, expiresAt });
    return {
      external_link: `${this.baseUrl()}${RESULT_LINK_PATH}/${token}`,
      expiration: new Date(expiresAt).toISOString(),
    };
  }

  /** Ends every link of a statement (closed, or forgotten). */
  revoke(statementId: string): void {
    for (const [token, link] of this.links) if (link.statementId === statementId) this.links.delete(token);
  }

  register(router: Router): void {
    router.add("GET", `${RESULT_LINK_PATH}/:token`, ({ req, res, params }) => {
      if (req.headers.authorization !== undefined)
        return storageError(res, 400, "InvalidArgument", "Only one auth mechanism allowed.");
      const link = this.links.get(params.token!);
      if (!link) return storageError(res, 403, "AccessDenied", "Access Denied");
      if (link.expiresAt <= this.clock.now()) return storageError(res, 403, "AccessDenied", "Request has expired");
      res.writeHead(200, { "content-type": link.chunk.contentType, "content-length": link.chunk.bytes.length });
      res.end(link.chunk.bytes);
    });
  }
}
