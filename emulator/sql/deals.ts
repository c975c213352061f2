import type { Seed } from "../seed/schema.js";

export interface DealRow {
  deal_id: string;
  account: string;
  region: string;
  owner_email: string;
  product: string;
  amount: string;
  margin_pct: string;
  quarter: string;
  close_date: string;
}

/** mulberry32: a tiny seeded PRNG, so every run of the seed yields the same deals. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REGIONS = ["WEST", "EAST", "CENTRAL"] as const;
const PRODUCTS = [
  "Lakehouse Platform",
  "SQL Warehouse",
  "Model Serving",
  "Vector Search",
  "Unity Catalog",
  "Delta Sharing",
];
const ACCOUNTS = [
  "Acme Corp",
  "Globex",
  "Initech",
  "Umbrella",
  "Hooli",
  "Stark Industries",
  "Wayne Enterprises",
  "Wonka",
  "Soylent",
  "Cyberdyne",
  "Tyrell",
  "Aperture",
];
const QUARTERS = ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"];

/** The seeded deals: synthetic reps, plus a few deals owned by seed users in and out of their own region. */
export function generateDeals(seed: Seed): DealRow[] {
  const random = prng(seed.tables.deals.randomSeed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const owners = seed.users.map((u) => u.userName);
  const rows: DealRow[] = [];
  for (let n = 1; n <= seed.tables.deals.rows; n += 1) {
    const quarter = pick(QUARTERS);
    const [year, q] = quarter.split("-Q").map(Number) as [number, number];
    const month = (q - 1) * 3 + 1 + Math.floor(random() * 3);
    const day = 1 + Math.floor(random() * 28);
    // Every 40th deal belongs to a seed user (round robin), so `owner = current_user()` has rows to show.
    const owner = n % 40 === 0 ? owners[(n / 40) % owners.length]! : `rep${1 + Math.floor(random() * 60)}@example.com`;
    rows.push({
      deal_id: `D-${String(n).padStart(6, "0")}`,
      account: pick(ACCOUNTS),
      region: pick(REGIONS),
      owner_email: owner,
      product: pick(PRODUCTS),
      amount: (1000 + random() * 249_000).toFixed(2),
      margin_pct: (5 + random() * 45).toFixed(2),
      quarter,
      close_date: `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`,
    });
  }
  return rows;
}
