import { existsSync } from "node:fs";
import type { startApp } from "../src/app.js";

/** The compiled server's entry, which `npm run build` writes (`npm run bench` builds first). */
const COMPILED_ENTRY = "dist/src/cli/main.js";

/** Stops with what to run when the compiled server is missing. */
export function requireBuild(): void {
  if (!existsSync(COMPILED_ENTRY))
    throw new Error("the compiled server is missing: run `npm run build` (npm run bench does) before this benchmark");
}

/**
 * `startApp` from the compiled server, as operators run it, rather than from the sources as the benchmark's own code
 * is loaded (tsx transpiles them on the fly and, to keep function names, wraps every function it makes per call: about
 * 15 µs per call over HTTP at c=1 on the Intel Xeon VM, that operators' builds do not have).
 */
export async function compiledStartApp(): Promise<typeof startApp> {
  requireBuild();
  const compiled = (await import(new URL("../dist/src/app.js", import.meta.url).href)) as {
    startApp: typeof startApp;
  };
  return compiled.startApp;
}
