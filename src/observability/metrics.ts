import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { AuditEntry } from "../audit/audit-entry.js";

/** What the token cache exposes; counters the cache does not keep yet read as zero. */
export interface TokenCacheCounters {
  readonly hits?: number;
  readonly misses?: number;
  readonly fetches?: number;
}

/** What the audit trail exposes: its spool, and the records it could not send the usual way. */
export interface AuditTrailCounters {
  depth(): number;
  spoolBytes(): number;
  readonly deadLetters: number;
  readonly refusedCalls: number;
  readonly unspooledRecords: number;
}

export interface MetricsSources {
  tokenCache?: TokenCacheCounters;
  auditSpoolDepth?(): number;
  /** The audit trail, read at scrape time (it may be built after the metrics). */
  audit?(): AuditTrailCounters;
  /** Tool names that may appear as a label; any other name counts as "other" (bounded cardinality). */
  toolNames?: readonly string[];
}

/** A counter whose value is read from a monotonic source at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/**
 * The server's Prometheus metrics, in a registry of its own (several servers in one process never share counters).
 * Labels are low-cardinality and name no person: tool, outcome, mode, HTTP status.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<"tool" | "outcome" | "mode">;
  private readonly latency: Histogram<"tool" | "outcome">;
  private readonly upstreamErrors: Counter<"status" | "family">;
  private readonly knownTools: ReadonlySet<string>;

  constructor(sources: MetricsSources = {}) {
    const { registry } = this;
    this.knownTools = new Set(sources.toolNames ?? []);
    collectDefaultMetrics({ register: registry, prefix: "mcp_process_" });
    this.calls = new Counter({
      name: "mcp_tool_calls_total",
      help: "Tool calls by tool, outcome (allowed, denied, failed, cancelled) and credential mode.",
      labelNames: ["tool", "outcome", "mode"],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: "mcp_tool_call_duration_seconds",
      help: "Tool call latency from dispatch to audited result, by tool and outcome.",
      labelNames: ["tool", "outcome"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    this.upstreamErrors = new Counter({
      name: "mcp_upstream_errors_total",
      help: "Error answers from the workspace, by HTTP status (or 'network') and API family.",
      labelNames: ["status", "family"],
      registers: [registry],
    });
    const cache = sources.tokenCache;
    mirroredCounter(
      registry,
      "mcp_token_cache_hits_total",
      "Workspace tokens served from the cache.",
      () => cache?.hits ?? 0,
    );
    mirroredCounter(
      registry,
      "mcp_token_cache_misses_total",
      "Token lookups that found no valid cached token.",
      () => cache?.misses ?? 0,
    );
    mirroredCounter(
      registry,
      "mcp_token_exchanges_total",
      "Token requests sent to the workspace (client credentials and RFC 8693 exchanges).",
      () => cache?.fetches ?? 0,
    );
    const audit = () => sources.audit?.();
    const depth = sources.auditSpoolDepth ?? (() => audit()?.depth() ?? 0);
    new Gauge({
      name: "mcp_audit_spool_depth",
      help: "Audit records on local disk not yet written to the audit table.",
      registers: [registry],
      collect() {
        this.set(depth());
      },
    });
    new Gauge({
      name: "mcp_audit_spool_bytes",
      help: "Bytes of audit records on local disk not yet written to the audit table (tool calls are refused at the bound).",
      registers: [registry],
      collect() {
        this.set(audit()?.spoolBytes() ?? 0);
      },
    });
    mirroredCounter(
      registry,
      "mcp_audit_dead_letters_total",
      "Audit records the workspace refused even alone, set aside in the dead-letter file beside the spool.",
      () => audit()?.deadLetters ?? 0,
    );
    mirroredCounter(
      registry,
      "mcp_audit_spool_full_refusals_total",
      "Tool calls refused with AUDIT_UNAVAILABLE because the audit spool was full (logged, not in the table).",
      () => audit()?.refusedCalls ?? 0,
    );
    mirroredCounter(
      registry,
      "mcp_audit_unspooled_records_total",
      "Audit records not spooled because the spool was full beyond its headroom (each logged; a call's answer withheld).",
      () => audit()?.unspooledRecords ?? 0,
    );
  }

  /** Observes one finished tool call (wired to the dispatcher's onCallFinished). */
  observeCall(entry: Pick<AuditEntry, "tool" | "outcome" | "mode" | "latencyMs">): void {
    // Unknown tool names come from callers; fold them into one label value so they cannot grow the series.
    const tool = this.knownTools.has(entry.tool) ? entry.tool : "other";
    this.calls.inc({ tool, outcome: entry.outcome, mode: entry.mode });
    this.latency.observe({ tool, outcome: entry.outcome }, entry.latencyMs / 1000);
  }

  /** Observes one workspace answer (status 0: no answer at all); only errors are counted. */
  observeUpstream(status: number, family: string): void {
    if (status === 0) this.upstreamErrors.inc({ status: "network", family });
    else if (status >= 400) this.upstreamErrors.inc({ status: String(status), family });
  }

  /** Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
