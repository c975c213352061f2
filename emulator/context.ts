import type { IncomingMessage } from "node:http";
import type { Clock } from "../src/clock.js";
import type { Directory } from "./directory.js";
import type { Counters, FaultInjector } from "./faults.js";
import type { Principal } from "./principal.js";
import type { Seed } from "./seed/schema.js";
import type { SqlEngine } from "./sql/engine.js";
import type { WarehouseStates } from "./sql/warehouses.js";
import type { WorkspaceUserGrants } from "./oidc/user-grants.js";

/** Verifies a workspace bearer token and yields its principal; 401 ApiError when absent or invalid. */
export interface Authenticator {
  authenticate(req: IncomingMessage): Promise<Principal>;
}

/** Everything a route module of the local workspace may use. */
export interface WorkspaceContext {
  seed: Seed;
  directory: Directory;
  faults: FaultInjector;
  counters: Counters;
  engine: SqlEngine;
  /** Each warehouse's state (RUNNING, or STARTING/STOPPED as a test sets it); statements wait until it runs. */
  warehouses: WarehouseStates;
  auth: Authenticator;
  /** e.g. http://127.0.0.1:8765 — known once the server listens. */
  baseUrl: string;
  /** The local IdP's issuer; seed policies naming "local-idp" resolve to it. */
  idpIssuer: string;
  idpJwksUri: string;
  /** Delay of each Genie status step, in ms. */
  genieStepDelayMs: number;
  /** Users' refresh tokens and revocations (set when the OAuth routes are registered). */
  userGrants?: WorkspaceUserGrants;
  /** Time Genie messages advance on (their steps and result retention); tests move a fake one. */
  clock: Clock;
  /** Time a statement's `wait_timeout` runs on; tests move a fake one. */
  statementClock: Clock;
}
