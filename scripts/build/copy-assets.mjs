// Copies what the compiled code reads at run time besides modules (the local workspace's default seed) into dist/.
import { cpSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
for (const asset of ["emulator/seed/default-seed.json"]) cpSync(`${root}${asset}`, `${root}dist/${asset}`);
