import type { SqlParameter } from "../sql/engine.js";

/**
 * The local Genie's "AI": a bounded, documented set of English question shapes translated
 * deterministically (case-insensitive regexes) into SQL over the space's deals table.
 * Every value taken from the question is bound as a `:name` parameter, never spliced into SQL.
 */

/** Columns a question may group by, keyed by the words a question uses for them. */
const GROUP_COLUMNS = {
  region: "region",
  quarter: "quarter",
  product: "product",
  account: "account",
  owner: "owner_email",
} as const;
export type GroupWord = keyof typeof GROUP_COLUMNS;

export type ShapeId =
  "total_by" | "average_margin_by" | "top_deals" | "count_deals" | "deals_for_account" | "total_amount";

/** Filters a question (or a follow-up) may add; each becomes a bound parameter. */
export interface QuestionFilters {
  region?: string;
  quarter?: string;
  account?: string;
}

/** What a question asks, independent of SQL; kept per conversation so follow-ups can refine it. */
export interface QuestionIntent {
  shape: ShapeId;
  groupBy?: GroupWord;
  limit?: number;
  filters: QuestionFilters;
}

export interface TranslatedQuery {
  intent: QuestionIntent;
  sql: string;
  parameters: SqlParameter[];
  title: string;
  description: string;
}

export type Translation = { kind: "query"; query: TranslatedQuery } | { kind: "text"; content: string };

export interface QuestionShape {
  id: ShapeId | "follow_up";
  pattern: string;
  example: string;
  description: string;
}

const GROUP_WORDS = Object.keys(GROUP_COLUMNS).join("|");
const TOP_N_MAX = 100;
export const REGIONS = ["WEST", "EAST", "CENTRAL"] as const;

const TOTAL_BY = new RegExp(`\\b(?:total|sum of)\\s+(?:deal\\s+)?amounts?\\s+(?:by|per)\\s+(${GROUP_WORDS})s?\\b`, "i");
const AVERAGE_MARGIN_BY = new RegExp(
  `\\b(?:average|avg|mean)\\s+margin(?:\\s*(?:%|pct|percent(?:age)?))?\\s+(?:by|per)\\s+(${GROUP_WORDS})s?\\b`,
  "i",
);
const TOP_DEALS = /\b(?:top|largest|biggest)\s+(\d{1,3})\s+deals\b/i;
const COUNT_DEALS = /\bhow\s+many\s+deals\b|\b(?:count|number)\s+of\s+deals\b/i;
const DEALS_FOR_ACCOUNT = /\bdeals\s+(?:for|with|of)\s+(?:the\s+)?account\s+(.+)$/i;
const TOTAL_AMOUNT = /\b(?:total|sum of)\s+(?:deal\s+)?amounts?\b/i;
const REGION = /\b(west|east|central)\b/i;
const QUARTER = /\b(20\d\d)[-\s]?q([1-4])\b|\bq([1-4])[-\s]+(20\d\d)\b/i;

/** The shapes the local Genie understands, for the README and for its own "I can answer" reply. */
export const GENIE_QUESTION_SHAPES: readonly QuestionShape[] = [
  {
    id: "total_by",
    pattern: `total amount by <${GROUP_WORDS}> [in <REGION>] [in <YYYY-Qn>]`,
    example: "What is the total amount by region?",
    description: "Sum of amount per group, largest first.",
  },
  {
    id: "average_margin_by",
    pattern: `average margin by <${GROUP_WORDS}> [in <REGION>] [in <YYYY-Qn>]`,
    example: "Average margin by region in 2026-Q1",
    description: "Average margin_pct per group (NULL where the column mask hides it).",
  },
  {
    id: "top_deals",
    pattern: `top <N> deals [in <REGION>] [in <YYYY-Qn>]`,
    example: "Show the top 5 deals in WEST in 2026-Q1",
    description: `The N largest deals by amount (N from 1 to ${TOP_N_MAX}).`,
  },
  {
    id: "count_deals",
    pattern: "how many deals [in <REGION>] [in <YYYY-Qn>]",
    example: "How many deals in EAST?",
    description: "Number of deals visible to you.",
  },
  {
    id: "deals_for_account",
    pattern: "deals for account <name>",
    example: "Deals for account Acme Corp",
    description: "The deals of one account, most recent first (at most 100).",
  },
  {
    id: "total_amount",
    pattern: "total amount [in <REGION>] [in <YYYY-Qn>]",
    example: "Total amount in 2026-Q2",
    description: "Sum of amount over the deals visible to you.",
  },
  {
    id: "follow_up",
    pattern: "[only|what about|and] [in] <REGION> | <YYYY-Qn>",
    example: "only WEST",
    description: "In a conversation, re-runs the previous question with that region or quarter filter.",
  },
];

/** A clear text answer listing what the local Genie can answer. */
export function unsupportedQuestionText(): string {
  const lines = GENIE_QUESTION_SHAPES.map((s) => `- ${s.pattern} (e.g. "${s.example}")`);
  return `The local Genie answers a fixed set of question shapes; I could not match your question to one of them:\n${lines.join("\n")}`;
}

function normalizeQuarter(m: RegExpExecArray): string {
  return m[1] !== undefined ? `${m[1]}-Q${m[2]}` : `${m[4]}-Q${m[3]}`;
}

/** Takes the region and quarter mentioned in a text, if any. */
function extractFilters(text: string): QuestionFilters {
  const filters: QuestionFilters = {};
  const quarter = QUARTER.exec(text);
  if (quarter) filters.quarter = normalizeQuarter(quarter);
  const region = REGION.exec(text);
  if (region) filters.region = region[1]!.toUpperCase();
  return filters;
}

/** The account name as asked: trailing punctuation and one pair of surrounding quotes removed, nothing else. */
function cleanAccountName(raw: string): string {
  let name = raw.trim().replace(/[?!.\s]+$/, "");
  const quoted = /^(["'])(.*)\1$/.exec(name);
  if (quoted) name = quoted[2]!;
  return name;
}

/** Recognises a question; `undefined` when it matches no shape. */
export function parseQuestion(question: string): QuestionIntent | undefined {
  const text = question.trim();
  const account = DEALS_FOR_ACCOUNT.exec(text);
  if (account) {
    const name = cleanAccountName(account[1]!);
    if (name !== "") return { shape: "deals_for_account", filters: { account: name } };
  }
  const filters = extractFilters(text);
  let m: RegExpExecArray | null;
  if ((m = TOTAL_BY.exec(text))) return { shape: "total_by", groupBy: m[1]!.toLowerCase() as GroupWord, filters };
  if ((m = AVERAGE_MARGIN_BY.exec(text)))
    return { shape: "average_margin_by", groupBy: m[1]!.toLowerCase() as GroupWord, filters };
  if ((m = TOP_DEALS.exec(text))) {
    const limit = Number(m[1]);
    if (limit >= 1 && limit <= TOP_N_MAX) return { shape: "top_deals", limit, filters };
    return undefined;
  }
  if (COUNT_DEALS.test(text)) return { shape: "count_deals", filters };
  if (TOTAL_AMOUNT.test(text)) return { shape: "total_amount", filters };
  return undefined;
}

const FOLLOW_UP_WORDS =
  /\b(?:and|but|now|only|just|what|how|about|filter|filtered|restrict|restricted|to|on|by|for|in|the|region|quarter|deals|please|show|me)\b/gi;

/** A refinement of the previous question ("only WEST", "in 2026-Q2"); `undefined` when the text is anything more. */
export function parseFollowUp(text: string, previous: QuestionIntent): QuestionIntent | undefined {
  const filters = extractFilters(text);
  if (filters.region === undefined && filters.quarter === undefined) return undefined;
  // Only filler words may remain besides the filters, so nothing else in the text is silently ignored.
  const rest = text
    .replace(new RegExp(REGION.source, "gi"), "")
    .replace(new RegExp(QUARTER.source, "gi"), "")
    .replace(FOLLOW_UP_WORDS, "")
    .replace(/[\s,.!?&]+/g, "");
  if (rest !== "") return undefined;
  return { ...previous, filters: { ...previous.filters, ...filters } };
}

/** Checks the table name from the seed so it is safe to place in SQL text (it never comes from a question). */
function quoteTableName(table: string): string {
  if (!/^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*){0,2}$/.test(table))
    throw new Error(`Unsupported Genie space table name: ${table}`);
  return table;
}

const DEAL_COLUMNS = "deal_id, account, region, owner_email, product, amount, margin_pct, quarter, close_date";

/** Builds the SQL for an intent; all question values travel as parameters. */
export function buildQuery(intent: QuestionIntent, table: string): TranslatedQuery {
  const from = quoteTableName(table);
  const where: string[] = [];
  const parameters: SqlParameter[] = [];
  const { region, quarter, account } = intent.filters;
  if (region !== undefined) {
    where.push("region = :region");
    parameters.push({ name: "region", value: region, type: "STRING" });
  }
  if (quarter !== undefined) {
    where.push("quarter = :quarter");
    parameters.push({ name: "quarter", value: quarter, type: "STRING" });
  }
  if (account !== undefined) {
    where.push("account = :account");
    parameters.push({ name: "account", value: account, type: "STRING" });
  }
  const whereSql = where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "";
  const scope = describeFilters(intent.filters);

  switch (intent.shape) {
    case "total_by": {
      const column = GROUP_COLUMNS[intent.groupBy!];
      return {
        intent,
        sql: `SELECT ${column}, SUM(amount) AS total_amount FROM ${from}${whereSql} GROUP BY ${column} ORDER BY total_amount DESC`,
        parameters,
        title: `Total amount by ${intent.groupBy}`,
        description: `Sum of deal amount for each ${intent.groupBy}${scope}, largest first.`,
      };
    }
    case "average_margin_by": {
      const column = GROUP_COLUMNS[intent.groupBy!];
      return {
        intent,
        sql: `SELECT ${column}, AVG(margin_pct) AS average_margin_pct FROM ${from}${whereSql} GROUP BY ${column} ORDER BY ${column}`,
        parameters,
        title: `Average margin by ${intent.groupBy}`,
        description: `Average margin percentage for each ${intent.groupBy}${scope}.`,
      };
    }
    case "top_deals":
      parameters.push({ name: "limit", value: String(intent.limit), type: "INT" });
      return {
        intent,
        sql: `SELECT ${DEAL_COLUMNS} FROM ${from}${whereSql} ORDER BY amount DESC, deal_id LIMIT :limit`,
        parameters,
        title: `Top ${intent.limit} deals`,
        description: `The ${intent.limit} largest deals by amount${scope}.`,
      };
    case "count_deals":
      return {
        intent,
        sql: `SELECT COUNT(*) AS deal_count FROM ${from}${whereSql}`,
        parameters,
        title: "Number of deals",
        description: `Number of deals${scope}.`,
      };
    case "deals_for_account":
      return {
        intent,
        sql: `SELECT ${DEAL_COLUMNS} FROM ${from}${whereSql} ORDER BY close_date DESC, deal_id LIMIT 100`,
        parameters,
        title: "Deals for account",
        description: `Deals${scope}, most recent first.`,
      };
    case "total_amount":
      return {
        intent,
        sql: `SELECT SUM(amount) AS total_amount FROM ${from}${whereSql}`,
        parameters,
        title: "Total amount",
        description: `Sum of deal amount${scope}.`,
      };
  }
}

function describeFilters(filters: QuestionFilters): string {
  const parts: string[] = [];
  if (filters.account !== undefined) parts.push(`for the requested account`);
  if (filters.region !== undefined) parts.push(`in region ${filters.region}`);
  if (filters.quarter !== undefined) parts.push(`in ${filters.quarter}`);
  return parts.length > 0 ? ` ${parts.join(" ")}` : "";
}

/** Translates a question, refining `previous` (the conversation's last query) when it is a follow-up. */
export function translateQuestion(question: string, table: string, previous?: QuestionIntent): Translation {
  const intent = parseQuestion(question) ?? (previous ? parseFollowUp(question, previous) : undefined);
  if (!intent) return { kind: "text", content: unsupportedQuestionText() };
  return { kind: "query", query: buildQuery(intent, table) };
}
