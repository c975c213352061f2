import { LRUCache } from "lru-cache";
import { systemClock, type Clock } from "../clock.js";
import type { AccessToken } from "./types.js";

/** Who the workspace says a credential is: current_user(), and SCIM Me's display name and groups. */
export interface WorkspaceView {
  principal: string;
  displayName: string | null;
  groups: string[];
  /** Epoch ms when the workspace was asked. */
  observedAt: number;
}

interface Kept {
  view: WorkspaceView;
  /** Epoch ms after which the view is asked for again. */
  until: number;
}

/**
 * What the workspace said about each workspace token, kept for at most `ttlMs` and never past the token's expiry, so
 * asking again costs no upstream call. Keyed by the token itself, in memory only: another token is another question.
 * Concurrent misses of one token share one lookup; a failed lookup is not kept. Bounded by LRU.
 */
export class WorkspaceViewCache {
  private readonly views: LRUCache<string, Kept>;
  private readonly inFlight = new Map<string, Promise<WorkspaceView>>();

  constructor(
    maxEntries: number,
    private readonly ttlMs: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.views = new LRUCache({ max: maxEntries });
  }

  get size(): number {
    return this.views.size;
  }

  /** The view of `token`: kept, shared with a lookup under way, or looked up now (always when `fresh`). */
  async get(
    token: AccessToken,
    lookup: () => Promise<WorkspaceView>,
    options: { fresh?: boolean } = {},
  ): Promise<{ view: WorkspaceView; cached: boolean }> {
    const key = token.accessToken;
    if (!options.fresh) {
      const kept = this.views.get(key);
      if (kept && kept.until > this.clock.now()) return { view: kept.view, cached: true };
      const pending = this.inFlight.get(key);
      if (pending) return { view: await pending, cached: false };
    }
    const request = lookup().then((view) => {
      const now = this.clock.now();
      const until = Math.min(now + this.ttlMs, token.expiresAt * 1000);
      if (until > now) this.views.set(key, { view, until });
      else this.views.delete(key);
      return view;
    });
    this.inFlight.set(key, request);
    try {
      return { view: await request, cached: false };
    } finally {
      if (this.inFlight.get(key) === request) this.inFlight.delete(key);
    }
  }
}
