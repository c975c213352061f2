/** Every credential strategy, one module each under strategies/. */
export { createFederationStrategy, type FederationStrategy } from "./strategies/federation.js";
export { createClientCredentialsStrategy, createM2MStrategy } from "./strategies/m2m.js";
export { createOboStrategy, type OboStrategy } from "./strategies/obo.js";
export { createPatStrategy } from "./strategies/pat.js";
export { createProfileStrategy } from "./strategies/profile.js";
export { createU2MStrategy } from "./strategies/u2m.js";
