import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { DEFAULT_SEED_PATH, loadSeed } from "../../emulator/workspace.js";

// `--seed FILE`: JSON or YAML, validated by emulator/seed/schema.ts, refused with the path of the first bad field.

const dir = mkdtempSync(join(tmpdir(), "local-workspace-seed-"));
const defaultSeed = JSON.parse(readFileSync(DEFAULT_SEED_PATH, "utf8")) as Record<string, unknown> & {
  users: { userName: string }[];
  servicePrincipals: { secret: string }[];
};

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("loading a seed", () => {
  it("a YAML seed loads to the same seed as its JSON form", async () => {
    const fromYaml = await loadSeed(write("seed.yaml", stringify(defaultSeed)));
    expect(fromYaml).toEqual(await loadSeed(DEFAULT_SEED_PATH));
  });

  it("a seed with an invalid field is refused, naming the file and the field's path", async () => {
    const broken = structuredClone(defaultSeed);
    broken.users[1]!.userName = "not-an-email";
    const path = write("broken.json", JSON.stringify(broken));
    await expect(loadSeed(path)).rejects.toThrow(`Invalid seed ${path}: users.1.userName:`);
  });

  it("a demo secret shorter than 16 characters is refused", async () => {
    const broken = structuredClone(defaultSeed);
    broken.servicePrincipals[0]!.secret = "short";
    await expect(loadSeed(write("short-secret.yml", stringify(broken)))).rejects.toThrow(
      /servicePrincipals\.0\.secret/,
    );
  });

  it("malformed JSON is an error, not a crash", async () => {
    await expect(loadSeed(write("malformed.json", "{ not json"))).rejects.toThrow(SyntaxError);
  });
});
