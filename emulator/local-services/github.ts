import type { Router } from "../http/router.js";
import { sendJson } from "../http/router.js";

/** Where the GitHub stand-in answers, under the local workspace's own loopback address. */
export const GITHUB_BASE_PATH = "/local-services/github";
/** The token the seed's `github` connection holds; callers never see it. */
export const GITHUB_TOKEN = "ghp_localStandInToken0000000000000000001";

const REPOSITORIES = [
  ["databricks", "databricks-sdk-py", "Databricks SDK for Python", "Python", 510],
  ["databricks", "databricks-sdk-go", "Databricks SDK for Go", "Go", 190],
  ["databricks", "databricks-sdk-js", "Databricks SDK for JavaScript", "TypeScript", 60],
  ["databricks", "cli", "Databricks CLI", "Go", 180],
  ["unitycatalog", "unitycatalog", "Open, multi-modal catalog for data and AI", "Java", 3100],
  [
    "modelcontextprotocol",
    "typescript-sdk",
    "The official TypeScript SDK for MCP servers and clients",
    "TypeScript",
    9800,
  ],
  ["mlflow", "mlflow", "Open source platform for the machine learning lifecycle", "Python", 20000],
  ["delta-io", "delta", "An open-source storage framework for lakehouses", "Scala", 7900],
] as const;

/**
 * A repository search answering like GitHub's `GET /search/repositories` (total_count, incomplete_results, items),
 * for the bearer token of the seed's connection only.
 */
export function registerGithubStandIn(router: Router): void {
  router.add("GET", `${GITHUB_BASE_PATH}/search/repositories`, ({ req, res, url }) => {
    if (req.headers.authorization !== `Bearer ${GITHUB_TOKEN}`) {
      sendJson(res, 401, {
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
        status: "401",
      });
      return;
    }
    const q = (url.searchParams.get("q") ?? "").trim().toLowerCase();
    if (!q) {
      sendJson(res, 422, {
        message: "Validation Failed",
        errors: [{ resource: "Search", field: "q", code: "missing" }],
      });
      return;
    }
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get("per_page") ?? 30) || 30));
    const words = q.split(/\s+/).filter((w) => !w.includes(":"));
    const hits = REPOSITORIES.filter(([owner, name, description]) =>
      words.every((w) => `${owner}/${name} ${description}`.toLowerCase().includes(w)),
    ).sort((a, b) => b[4] - a[4]);
    sendJson(res, 200, {
      total_count: hits.length,
      incomplete_results: false,
      items: hits.slice(0, perPage).map(([owner, name, description, language, stars], i) => ({
        id: 1000 + i,
        name,
        full_name: `${owner}/${name}`,
        owner: { login: owner },
        html_url: `https://github.com/${owner}/${name}`,
        description,
        language,
        stargazers_count: stars,
      })),
    });
  });
}
