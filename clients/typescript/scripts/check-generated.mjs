// Regenerates the schema types from ../../docs/openapi.yaml into a temporary file and fails
// (exit 1) when they differ from the committed src/schema.ts: run `npm run generate` then.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const spec = join(root, "..", "..", "docs", "openapi.yaml");
const committed = join(root, "src", "schema.ts");
const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve("openapi-typescript/package.json")), "bin", "cli.js");

const dir = mkdtempSync(join(tmpdir(), "api-client-schema-"));
try {
  const fresh = join(dir, "schema.ts");
  execFileSync(process.execPath, [cli, spec, "--output", fresh], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  const want = readFileSync(fresh, "utf8");
  let have;
  try {
    have = readFileSync(committed, "utf8");
  } catch {
    console.error("src/schema.ts is missing: run `npm run generate`");
    process.exit(1);
  }
  if (have !== want) {
    const a = have.split("\n");
    const b = want.split("\n");
    const line = a.findIndex((l, i) => l !== b[i]);
    console.error(`src/schema.ts is out of date with docs/openapi.yaml (first difference at line ${line + 1}): run \`npm run generate\``);
    process.exit(1);
  }
  console.log("src/schema.ts is up to date with docs/openapi.yaml");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
