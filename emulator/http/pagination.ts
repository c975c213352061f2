import { ApiError } from "./errors.js";

const DEFAULT_PAGE_SIZE = 100;

/** Offset pagination behind an opaque `page_token`; a token this server did not issue is a 400. */
export function paginate<T>(all: T[], url: URL): { items: T[]; nextPageToken?: string } {
  const sizeParam = url.searchParams.get("page_size");
  const size = sizeParam === null ? DEFAULT_PAGE_SIZE : Number(sizeParam);
  if (!Number.isInteger(size) || size < 1 || size > 1000) {
    throw new ApiError(400, "INVALID_PARAMETER_VALUE", "page_size must be an integer between 1 and 1000.");
  }
  const token = url.searchParams.get("page_token");
  const offset = token === null || token === "" ? 0 : Number(Buffer.from(token, "base64url").toString("utf8"));
  if (!Number.isInteger(offset) || offset < 0)
    throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Invalid page_token.");
  const items = all.slice(offset, offset + size);
  const next = offset + size;
  return { items, nextPageToken: next < all.length ? Buffer.from(String(next)).toString("base64url") : undefined };
}
