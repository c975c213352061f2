// Copies what the compiled code reads at run time besides modules (the default seed, the default tool catalog, any
// other non-TypeScript file under src/, tools/ and emulator/) into dist/; tool-schema snapshots are test data.
import { cpSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
for (const dir of ["src", "tools", "emulator"]) {
  for (const entry of readdirSync(join(root, dir), { recursive: true })) {
    const path = join(dir, String(entry));
    if (path.endsWith(".ts") || path.includes("__toolsnaps__") || statSync(join(root, path)).isDirectory()) continue;
    cpSync(join(root, path), join(root, "dist", path));
  }
}
