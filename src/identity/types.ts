/** How the caller was turned into a workspace credential. */
export type Mode =
  | "obo"
  | "m2m"
  | "federation"
  | "federation-user" // an IdP JWT exchanged under the account federation policy for a token of the user it names
  | "idp-obo" // the user's IdP token exchanged at the IdP (jwt-bearer on-behalf-of) for a workspace-audience token
  | "brokered" // the server ran the user's workspace sign-in and keeps their tokens; the client holds the server's own
  | "pat"
  | "u2m";

/** Where the credential came from; recorded with every call. */
export type CredentialSource =
  | "proxy-header" // x-forwarded-access-token from the Databricks Apps proxy
  | "bearer" // a workspace-issued bearer token on the request
  | "exchange" // RFC 8693 token exchange of a federated JWT, for the target its issuer is configured with
  | "exchange-by-rule" // the same, for the target the issuer's rule chose (the user when the workspace knows them)
  | "on-behalf-of" // the IdP's jwt-bearer on-behalf-of grant
  | "broker-store" // the user's workspace token kept (sealed) by the server since their sign-in
  | "client-credentials" // the server's own service principal
  | "env-token" // DATABRICKS_TOKEN
  | "profile" // ~/.databrickscfg
  | "login-cache"; // tokens from `databricks-governed-mcp login`

/** What the transport knows of a request before any tool runs. Header names are lower-case; repeated ones joined by ", ". */
export interface InboundRequest {
  transport: "stdio" | "http";
  headers: Readonly<Record<string, string | undefined>>;
}

/** Who is calling, as verified. Never holds a token. */
export interface CallerIdentity {
  mode: Mode;
  source: CredentialSource;
  /** The human: an email (OBO, U2M) or the external IdP subject (Federation); absent for M2M. */
  human?: string;
  /** Federation: the verified token's `email` claim, when it carries one (tools may bind it as a parameter). */
  email?: string;
  /** Federation: the exact `iss` that verified `human`. Two IdPs may issue one `sub`: the pair is who the human is. */
  issuer?: string;
  /** The Federation role, or a configured role for other modes. */
  role?: string;
  /** The workspace principal expected to act (service principal application id or user), when known before a call. */
  expectedPrincipal?: string;
  /** Scopes the workspace credential will carry (requested or granted). */
  scopes: string[];
  /** Expiry of the inbound credential (epoch seconds), when there is one. */
  inboundExpiresAt?: number;
}

export interface AccessToken {
  accessToken: string;
  /** Epoch seconds. */
  expiresAt: number;
  scopes: string[];
}

/** A per-request handle on the caller's workspace token; never shared between callers. */
export interface WorkspaceCredential {
  /** A valid token; `forceRefresh` after the workspace answered 401 (evicts the cached one first). */
  token(options?: { forceRefresh?: boolean; signal?: AbortSignal }): Promise<AccessToken>;
  /** The token already in hand and valid, with no request to make; undefined when `token` has work to do. */
  current?(): AccessToken | undefined;
}

export interface ResolvedCaller {
  identity: CallerIdentity;
  credential: WorkspaceCredential;
}

/** One module per strategy, one interface: verify who is calling, and hand out a lazily obtained credential. */
export interface CredentialStrategy {
  readonly mode: Mode;
  /** True when this request carries what this strategy needs (a header, a token of its issuer…). */
  accepts(request: InboundRequest): boolean;
  /** Verifies the caller; throws IdentityError (never falls back to another identity). */
  resolve(request: InboundRequest, signal?: AbortSignal): Promise<ResolvedCaller>;
}
