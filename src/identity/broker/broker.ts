import type { Logger } from "pino";
import { systemClock, type Clock } from "../../clock.js";
import type { Config } from "../../config/schema.js";
import { createBrokeredStrategy, type BrokeredStrategy } from "../strategies/brokered.js";
import { createAuthorizationServer } from "./authorization-server.js";
import { BrokerTokens } from "./broker-tokens.js";
import { ClientRegistry } from "./client-registry.js";
import { EndpointGuard, type GuardAudit } from "./endpoint-guard.js";
import { SealedBox } from "./sealed-box.js";
import { SealedRecords } from "./sealed-records.js";
import { PostgresBrokerStore } from "./postgres-store.js";
import { InProcessBrokerStore, type BrokerStore } from "./token-store.js";
import { UserGrants } from "./user-grants.js";

export interface Broker {
  /** The server's own issuer (its public URL): listed first among the authorization servers. */
  issuer: string;
  strategy: BrokeredStrategy;
  userGrants: UserGrants;
  store: BrokerStore;
  /** Answers the authorization server's paths; false for any other path. */
  handle: ReturnType<typeof createAuthorizationServer>;
  close(): Promise<void>;
}

/** The broker of users' workspace sign-in, when `identity.broker` is configured (it needs `server.publicUrl`). */
export function createBroker(
  config: Config,
  options: {
    logger: Logger;
    clock?: Clock;
    store?: BrokerStore;
    /** Where refusals at the broker's endpoints are audited. */
    audit?: GuardAudit;
  },
): Broker | undefined {
  const broker = config.identity.broker;
  if (!broker || !config.server.publicUrl) return undefined;
  const clock = options.clock ?? systemClock;
  const issuer = config.server.publicUrl.replace(/\/+$/, "");
  const shared = broker.store === "memory" ? undefined : new PostgresBrokerStore(broker.store, () => clock.now());
  const store = options.store ?? shared ?? new InProcessBrokerStore(() => clock.now());
  const records = new SealedRecords(store, new SealedBox(broker.tokenKey));
  const tokens = new BrokerTokens(
    broker.tokenKey,
    issuer,
    `${issuer}${config.server.path}`,
    broker.accessTokenTtlS,
    clock,
  );
  const userGrants = new UserGrants(
    config.workspace.host!,
    broker,
    records,
    clock,
    config.identity.tokenCache.refreshMarginS,
  );
  return {
    issuer,
    store,
    userGrants,
    close: async () => {
      await shared?.close();
    },
    strategy: createBrokeredStrategy(tokens, userGrants),
    handle: createAuthorizationServer({
      broker,
      workspaceHost: config.workspace.host!,
      tokens,
      clients: new ClientRegistry(records, () => clock.now(), broker.allowHttpClientMetadata),
      records,
      userGrants,
      clock,
      logger: options.logger,
      guard: new EndpointGuard(broker, clock, options.logger, options.audit),
    }),
  };
}
