import type { ToolDefinition } from "./types.js";
import { checkIdentityTool } from "./check-identity.js";
import { querySalesDataTool } from "./query-sales-data.js";
import { genieQueryTool } from "./genie-query.js";
import { queryKnowledgeBaseTool } from "./query-knowledge-base.js";
import { queryAuditLogTool } from "./query-audit-log.js";
import { askSupervisorTool } from "./ask-supervisor.js";

/** Every governed tool, in the order `tools/list` shows them. */
export const ALL_TOOLS = [
  checkIdentityTool,
  querySalesDataTool,
  genieQueryTool,
  queryKnowledgeBaseTool,
  queryAuditLogTool,
  askSupervisorTool,
] as unknown as readonly ToolDefinition[];
