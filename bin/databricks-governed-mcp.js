#!/usr/bin/env node
// Runs the TypeScript entry point through tsx's loader, so `npx databricks-governed-mcp` works without a build step.
import { register } from "tsx/esm/api";
register();
await import("../src/cli/main.ts");
