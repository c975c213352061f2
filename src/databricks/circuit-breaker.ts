import { systemClock, type Clock } from "../clock.js";
import { ErrorCodes, UpstreamError } from "../errors.js";

export interface CircuitBreakerOptions {
  /** Consecutive failures (5xx, resets, timeouts; never 4xx) that open a circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before one probe is let through (half-open). */
  cooldownMs: number;
  /** Time the cooldown runs on. */
  clock?: Clock;
}

export type CircuitState = "closed" | "open" | "half-open";

interface Circuit {
  state: CircuitState;
  failures: number;
  openedAt: number;
  probing: boolean;
}

export const DEFAULT_CIRCUIT_OPTIONS: CircuitBreakerOptions = { failureThreshold: 5, cooldownMs: 10_000 };

/**
 * One circuit per upstream (host + API family + resource): after `failureThreshold` consecutive failures it opens and
 * answers CIRCUIT_OPEN at once, so one unhealthy upstream fails only the tools that use it; after `cooldownMs` a single
 * probe goes through, and its outcome closes or re-opens the circuit.
 */
export class CircuitBreaker {
  private readonly circuits = new Map<string, Circuit>();
  private readonly options: Required<CircuitBreakerOptions>;

  constructor(options: Partial<CircuitBreakerOptions> = {}) {
    this.options = {
      ...DEFAULT_CIRCUIT_OPTIONS,
      ...options,
      clock: options.clock ?? systemClock,
    } as Required<CircuitBreakerOptions>;
  }

  private circuit(key: string): Circuit {
    let circuit = this.circuits.get(key);
    if (!circuit) {
      circuit = { state: "closed", failures: 0, openedAt: 0, probing: false };
      // Keys come from a few families and configured resources; the bound only guards against path-derived growth.
      if (this.circuits.size >= 1000) this.circuits.delete(this.circuits.keys().next().value!);
      this.circuits.set(key, circuit);
    }
    return circuit;
  }

  state(key: string): CircuitState {
    const circuit = this.circuits.get(key);
    if (!circuit) return "closed";
    if (circuit.state === "open" && this.options.clock.now() - circuit.openedAt >= this.options.cooldownMs)
      return "half-open";
    return circuit.state;
  }

  /** Throws CIRCUIT_OPEN unless a call may go to this upstream now; a half-open circuit admits one probe at a time. */
  admit(key: string, family: string): void {
    const circuit = this.circuit(key);
    if (circuit.state === "closed") return;
    const waited = this.options.clock.now() - circuit.openedAt;
    if (circuit.state === "open" && waited >= this.options.cooldownMs) circuit.state = "half-open";
    if (circuit.state === "half-open" && !circuit.probing) {
      circuit.probing = true;
      return;
    }
    const retryAfterS = Math.max(1, Math.ceil((this.options.cooldownMs - waited) / 1000));
    throw new UpstreamError(
      ErrorCodes.CIRCUIT_OPEN,
      `The ${family} upstream failed ${this.options.failureThreshold} times in a row; calls to it are paused.`,
      { retryAfterS, hint: "Other tools keep working; try this one again shortly." },
    );
  }

  success(key: string): void {
    const circuit = this.circuit(key);
    circuit.state = "closed";
    circuit.failures = 0;
    circuit.probing = false;
  }

  failure(key: string): void {
    const circuit = this.circuit(key);
    circuit.failures += 1;
    if (circuit.state === "half-open" || circuit.failures >= this.options.failureThreshold) {
      circuit.state = "open";
      circuit.openedAt = this.options.clock.now();
    }
    circuit.probing = false;
  }

  /** An answer that says nothing of the upstream's health (a 4xx, a cancelled call) frees a half-open probe slot. */
  neutral(key: string): void {
    const circuit = this.circuit(key);
    if (circuit.state === "half-open") {
      circuit.state = "closed";
      circuit.failures = 0;
    }
    circuit.probing = false;
  }
}

/** The upstream a workspace path belongs to: its API family and, where the path names one, the resource. */
export function upstreamOf(path: string): { family: string; resource: string } {
  const pathname = path.split("?")[0]!;
  const segments = pathname.split("/").filter(Boolean);
  const decoded = (s: string | undefined) => {
    try {
      return decodeURIComponent(s ?? "").slice(0, 200);
    } catch {
      return (s ?? "").slice(0, 200);
    }
  };
  // Statement ids do not name the warehouse; every statement path shares the workspace's SQL circuit.
  if (pathname.startsWith("/api/2.0/sql/statements")) return { family: "sql_statements", resource: "" };
  if (pathname.startsWith("/api/2.0/genie/spaces/")) return { family: "genie_space", resource: decoded(segments[4]) };
  if (pathname.startsWith("/api/2.0/vector-search/indexes/"))
    return { family: "vector_index", resource: decoded(segments[4]) };
  if (pathname.startsWith("/serving-endpoints/")) return { family: "serving_endpoint", resource: decoded(segments[1]) };
  if (pathname.includes("/scim/")) return { family: "scim", resource: "" };
  return { family: "other", resource: "" };
}
