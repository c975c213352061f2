// CI: the published package holds only what runs (bin/, dist/), the docs and the examples: no sources, tests,
// benchmarks, CI scripts or scratch files. Reads `npm pack --dry-run --json` on stdin.
import { readFileSync } from "node:fs";

const [pack] = JSON.parse(readFileSync(0, "utf8"));
const allowed = [/^bin\/[^/]+\.js$/, /^dist\/(src|tools|emulator)\//, /^docs\//, /^README\.md$/, /^package\.json$/];
allowed.push(/^mcp\.json\.example$/, /^deploy\/app\.yaml$/, /^LICENSE$/);
const paths = pack.files.map((f) => f.path);
const stray = paths.filter((p) => !allowed.some((rule) => rule.test(p)) || /\.test\.[jt]s$/.test(p));
const missing = [
  "dist/src/cli/main.js",
  "dist/emulator/seed/default-seed.json",
  "bin/databricks-governed-mcp.js",
].filter((p) => !paths.includes(p));
for (const p of stray) console.error(`FAIL packed but not part of the package: ${p}`);
for (const p of missing) console.error(`FAIL missing from the package: ${p}`);
console.error(`npm pack: ${paths.length} files, ${pack.unpackedSize} bytes unpacked`);
process.exit(stray.length + missing.length === 0 ? 0 : 1);
