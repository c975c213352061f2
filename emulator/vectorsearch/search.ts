import MiniSearch from "minisearch";
import type { Seed } from "../seed/schema.js";
import type { ColumnTypes, Doc, DocFilter } from "./filters.js";

export type QueryType = "ANN" | "HYBRID" | "FULL_TEXT";
export type KnowledgeIndex = {
  name: string;
  primaryKey: string;
  textColumn: string;
  docs: Doc[];
  /** Each column's type, which filters are checked against. */
  columns: ColumnTypes;
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
    columns: columnTypes(spec.documents),
    keyword,
    vectors,
  };
}

/** A column is numeric when every document that has it holds a number there. */
function columnTypes(docs: Doc[]): ColumnTypes {
  const types = new Map<string, "number" | "string">();
  for (const doc of docs) {
    for (const [column, value] of Object.entries(doc)) {
      const seen = types.get(column);
      types.set(column, typeof value === "number" && seen !== "string" ? "number" : "string");
    }
  }
  return types;
}

/**
 * ANN: cosine over the embeddings. HYBRID: reciprocal rank fusion of keyword (BM25) and vector rankings. FULL_TEXT:
 * keyword matches only (BM25), scored relative to the best match. The filter narrows the candidates first.
 */
export function searchKnowledgeBase(
  index: KnowledgeIndex,
  q: { queryText: string; numResults: number; filter?: DocFilter; queryType: QueryType },
): { doc: Doc; score: number }[] {
  const candidates = q.filter ? index.docs.filter(q.filter) : index.docs;
  if (q.queryType === "FULL_TEXT") return fullText(index, candidates, q.queryText).slice(0, q.numResults);
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

function fullText(index: KnowledgeIndex, candidates: Doc[], queryText: string): { doc: Doc; score: number }[] {
  const byKey = new Map(candidates.map((doc) => [String(doc[index.primaryKey]), doc]));
  const hits = index.keyword.search(queryText).filter((r) => byKey.has(String(r.id)));
  const best = hits[0]?.score ?? 1;
  return hits.map((r) => ({ doc: byKey.get(String(r.id))!, score: r.score / best }));
}
