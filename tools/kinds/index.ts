import type { ToolKind } from "./kind.js";
import { identityKind } from "./identity.js";
import { genieKind } from "./genie.js";
import { vectorSearchKind } from "./vector-search.js";
import { auditLogKind } from "./audit-log.js";
import { servingKind } from "./serving.js";
import { sqlKind } from "./sql.js";
import { sqlReadonlyKind } from "./sql-readonly.js";
import { ucFunctionKind, ucFunctionsKind } from "./uc-function.js";
import { ucConnectionKind } from "./uc-connection.js";

/** Every kind a catalog entry may name: a new kind is one module plus its line here. */
export const TOOL_KINDS: ReadonlyMap<string, ToolKind<never>> = new Map(
  (
    [
      identityKind,
      genieKind,
      vectorSearchKind,
      auditLogKind,
      servingKind,
      sqlKind,
      sqlReadonlyKind,
      ucFunctionKind,
      ucFunctionsKind,
      ucConnectionKind,
    ] as ToolKind<never>[]
  ).map((k) => [k.kind, k]),
);
