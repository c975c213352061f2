#!/usr/bin/env node
// Runs the compiled entry point (`npm run build` writes dist/; `npm install` and `npm pack` run it through `prepare`).
try {
  await import("../dist/src/cli/main.js");
} catch (err) {
  if (err?.code !== "ERR_MODULE_NOT_FOUND" || !String(err.message).includes("dist/src/cli/main.js")) throw err;
  console.error(
    "databricks-governed-mcp: the compiled server is missing; run `npm run build` in the package directory.",
  );
  process.exit(1);
}
