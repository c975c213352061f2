import type { Logger } from "pino";
import { trace } from "@opentelemetry/api";

/** The standard OpenTelemetry exporter settings this server honours (read by src/config/load.ts). */
export interface OtlpSettings {
  /** OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  tracesEndpoint?: string;
  /** OTEL_EXPORTER_OTLP_HEADERS (and _TRACES_HEADERS): `key=value,key=value`. */
  headers: Record<string, string>;
  /** OTEL_SERVICE_NAME. */
  serviceName: string;
}

export interface TraceExport {
  /** Sends what is buffered (tests, shutdown). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Exports spans over OTLP/HTTP when an endpoint is configured; without one nothing is loaded and spans stay no-ops.
 * The exporter packages are imported only here, on demand, so they cost nothing at start otherwise.
 */
export async function startTraceExport(settings: OtlpSettings, logger: Logger): Promise<TraceExport | undefined> {
  if (!settings.tracesEndpoint) return undefined;
  const [{ OTLPTraceExporter }, { BasicTracerProvider, BatchSpanProcessor }, { resourceFromAttributes }] =
    await Promise.all([
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/sdk-trace-base"),
      import("@opentelemetry/resources"),
    ]);
  const exporter = new OTLPTraceExporter({ url: settings.tracesEndpoint, headers: settings.headers });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": settings.serviceName, "service.version": "0.1.0" }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  if (!trace.setGlobalTracerProvider(provider)) {
    logger.warn("a tracer provider is already registered; OTLP export not started");
    return undefined;
  }
  logger.info({ endpoint: settings.tracesEndpoint }, "exporting traces over OTLP/HTTP");
  return {
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** `key=value,key=value` (OTEL_EXPORTER_OTLP_HEADERS; values may be percent-encoded). */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/** The traces URL the OTLP specification derives from the environment (a signal-specific endpoint is used as is). */
export function otlpTracesEndpoint(env: Record<string, string | undefined>): string | undefined {
  if (env.OTEL_SDK_DISABLED === "true" || env.OTEL_TRACES_EXPORTER === "none") return undefined;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? `${base.replace(/\/+$/, "")}/v1/traces` : undefined;
}
