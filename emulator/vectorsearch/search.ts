import MiniSearch from "minisearch";
import type { Seed } from "../seed/schema.js";

type Doc = Record<string, string | number>;
export type KnowledgeIndex = {
  name: string;
  primaryKey: string;
  textColumn: string;
  docs: Doc[];
  keyword: MiniSearch<Doc>;
  vectors: Map<string, Float32Array>;
};

const DIMENSIONS = 512;
const tokens = (text: string) => text.toLowerCase().match(/[a-z0-9]+/g) ?? [];

/** A deterministic embedding: hashed character trigrams of each word, L2-normalised (no model download). */
export function embed(text: string): Float32Array {
  const v = new Float32Array(DIMENSIONS);
  for (const word of tokens(text)) {
    const padded = `#${word}#`;
    for (let i = 0; i + 3 <= padded.length; i += 1) {
      let h = 2166136261;
      for (const ch of padded.slice(i, i + 3)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
      v[(h >>> 0) % DIMENSIONS]! += 1;
    }
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

export function buildIndex(spec: Seed["vectorIndexes"][number]): KnowledgeIndex {
  const keyword = new MiniSearch<Doc>({
    idField: spec.primaryKey,
    fields: [spec.textColumn, "title"],
    storeFields: [],
  });
  keyword.addAll(spec.documents);
  const vectors = new Map(
    spec.documents.map((d) => [String(d[spec.primaryKey]), embed(`${d.title ?? ""} ${d[spec.textColumn]}`)]),
  );
  return {
    name: spec.name,
    primaryKey: spec.primaryKey,
    textColumn: spec.textColumn,
    docs: spec.documents,
    keyword,
    vectors,
  };
}

export type Filters = Record<string, string | number | (string | number)[]>;

function matches(doc: Doc, filters: Filters): boolean {
  return Object.entries(filters).every(([key, want]) => {
    const [column, op] = key.trim().split(/\s+/) as [string, string | undefined];
    const value = doc[column];
    const list = Array.isArray(want) ? want : [want];
    if (op === "NOT") return !list.includes(value as never);
    if (op === "<") return Number(value) < Number(want);
    if (op === ">") return Number(value) > Number(want);
    return list.includes(value as never);
  });
}

/** ANN: cosine over the embeddings. HYBRID: reciprocal rank fusion of keyword (BM25) and vector rankings. */
export function searchKnowledgeBase(
  index: KnowledgeIndex,
  q: { queryText: string; numResults: number; filters: Filters; queryType: "ANN" | "HYBRID" },
): { doc: Doc; score: number }[] {
  const candidates = index.docs.filter((d) => matches(d, q.filters));
  const query = embed(q.queryText);
  const byVector = candidates
    .map((doc) => ({ doc, score: cosine(query, index.vectors.get(String(doc[index.primaryKey]))!) }))
    .sort((a, b) => b.score - a.score);
  if (q.queryType === "ANN") return byVector.slice(0, q.numResults);
  const keywordRank = new Map(
    index.keyword.search(q.queryText, { prefix: true, fuzzy: 0.2 }).map((r, i) => [String(r.id), i]),
  );
  const fused = byVector.map(({ doc }, vectorRank) => {
    const k = keywordRank.get(String(doc[index.primaryKey]));
    const rrf = 1 / (60 + vectorRank + 1) + (k === undefined ? 0 : 1 / (60 + k + 1));
    return { doc, score: rrf / (2 / 61) };
  });
  return fused.sort((a, b) => b.score - a.score).slice(0, q.numResults);
}
