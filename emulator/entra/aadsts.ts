import { randomUUID } from "node:crypto";

/**
 * A Microsoft identity platform token error: `error`, an `error_description` that opens with its AADSTS code and ends
 * with trace, correlation and time lines, and the same code in `error_codes`, as login.microsoftonline.com answers.
 */
export class AadstsError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    readonly text: string,
  ) {
    super(`AADSTS${aadsts}: ${text}`);
    this.name = "AadstsError";
  }

  body(now: Date): Record<string, unknown> {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = now
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "Z");
    return {
      error: this.error,
      error_description: `${this.message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [this.aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
    };
  }
}

export const Aadsts = {
  missingParameter: (name: string) =>
    new AadstsError(
      400,
      "invalid_request",
      900144,
      `The request body must contain the following parameter: '${name}'.`,
    ),
  unsupportedGrant: () =>
    new AadstsError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."),
  unknownClient: (clientId: string) =>
    new AadstsError(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId.slice(0, 64)}' was not found in the directory.`,
    ),
  badSecret: (clientId: string) =>
    new AadstsError(
      401,
      "invalid_client",
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId.slice(0, 64)}'.`,
    ),
  badAssertion: () =>
    new AadstsError(
      400,
      "invalid_grant",
      50013,
      "Assertion failed signature validation. [Reason - The key was not found.]",
    ),
  assertionAudience: (audience: string, expected: string) =>
    new AadstsError(
      400,
      "invalid_grant",
      500131,
      `Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '${audience.slice(0, 64)}' and the expected audience is '${expected}' or one of the Application Id URIs of this application.`,
    ),
  assertionExpired: () =>
    new AadstsError(
      400,
      "invalid_grant",
      500133,
      "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token.",
    ),
  unknownResource: (resource: string) =>
    new AadstsError(
      400,
      "invalid_resource",
      500011,
      `The resource principal named ${resource.slice(0, 64)} was not found in the tenant.`,
    ),
  badRequestedTokenUse: () =>
    new AadstsError(
      400,
      "invalid_request",
      900144,
      "The request body must contain the following parameter: 'requested_token_use'.",
    ),
} as const;
