/** DESIGN.md: roles that see real margin_pct values; every other caller gets NULL from the column mask. */
export const MASK_LIFTED = new Set(["executive", "finance", "admin"]);
/** DESIGN.md: roles that Unity Catalog's row filter narrows to one region. */
export const REGION_OF: Record<string, string | undefined> = { west_sales: "WEST", east_sales: "EAST" };

/** The smallest valid arguments for each tool, so a call tests the permission and not the input. */
export const MINIMAL_ARGS: Record<string, Record<string, unknown>> = {
  check_identity: {},
  query_sales_data: { limit: 1 },
  genie_query: { question: "how many deals" },
  query_knowledge_base: { query: "discount approval", num_results: 1 },
  query_audit_log: { limit: 1 },
  ask_supervisor: { question: "What is the quarter close process?" },
  get_region_summary: { limit: 10 },
  github_search: { q: "databricks sdk", per_page: 1 },
  external_api_call: { account: "Acme Corp" },
};

/** Tools of the default catalog Unity Catalog refuses a plain workspace user: no SELECT, no USE CONNECTION. */
export const UC_REFUSES_USERS = ["query_audit_log", "github_search", "external_api_call"];
