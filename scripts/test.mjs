#!/usr/bin/env node
// `npm test`: every check the project has, in order, ending with one plain line "N passed, N failed".
//   1. TypeScript (strict) over src/ and test/
//   2. `wrangler deploy --dry-run`: the config still builds with the wrangler that deploys it
//   3. vitest: the `unit` project (pure SCIM core, Node), the `workers` project (real workerd, D1,
//      Durable Objects) and the `e2e` project (the admin console in headless Chromium)
//   4. the benchmark smoke: `npm run bench -- --smoke` in a fresh copy of the checkout with no
//      node_modules, as a fresh clone runs it (the benchmark broke that way twice while every test
//      passed); it counts as one more check
// Extra arguments go to vitest (e.g. `npm test -- test/integration/users`) and skip the smoke.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const npx = process.platform === "win32" ? "npx.cmd" : "npx";
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
/** Checks other than vitest that failed; each counts as one failed test in the closing line. */
let failedChecks = 0;

function step(label, args, { command = npx, cwd = root } = {}) {
  process.stdout.write(`\n› ${label}\n`);
  const result = spawnSync(command, args, { cwd, stdio: "inherit", env });
  if (result.status !== 0) process.stdout.write(`✗ ${label} failed (exit ${result.status})\n`);
  return result.status === 0;
}

/**
 * A copy of what a fresh clone of this working tree holds (tracked files and new ones git does not
 * ignore, as they are now, uncommitted changes included): no node_modules, no .wrangler, no .dev.vars.
 */
function freshCopy() {
  const dir = mkdtempSync(join(tmpdir(), "thestorage-fresh-"));
  let files = null;
  try {
    files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\0")
      .filter(Boolean);
  } catch {
    // Not a git checkout: everything but what a clone would not have.
  }
  if (files) {
    for (const file of files) if (existsSync(join(root, file))) cpSync(join(root, file), join(dir, file), { recursive: true });
  } else {
    const skip = ["node_modules", ".wrangler", ".git", "test-results", ".dev.vars"].map((name) => join(root, name));
    cpSync(root, dir, { recursive: true, filter: (src) => !skip.some((s) => src === s || src.startsWith(s + sep)) });
  }
  return dir;
}

if (!step("Typecheck (tsc --noEmit)", ["tsc", "--noEmit", "-p", "."])) failedChecks += 1;
if (!step("Wrangler config (deploy --dry-run)", ["wrangler", "deploy", "--dry-run", "--outdir", ".wrangler/dry-run"])) failedChecks += 1;

mkdirSync(join(root, "test-results"), { recursive: true });
const report = join(root, "test-results", "vitest.json");
rmSync(report, { force: true });
const vitestOk = step("Tests (vitest)", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)]);

let passed = 0;
let failed = failedChecks;
if (existsSync(report)) {
  const results = JSON.parse(readFileSync(report, "utf8"));
  passed += results.numPassedTests ?? 0;
  failed += results.numFailedTests ?? 0;
  // A file that failed to load has no failed test in it, but is a failure all the same.
  failed += (results.testResults ?? []).filter((file) => file.status === "failed" && !(file.assertionResults ?? []).some((a) => a.status === "failed")).length;
}
// vitest exiting non-zero with nothing counted (a crash, a config error) must not read as green.
if (!vitestOk && failed === failedChecks) failed += 1;

if (process.argv.length <= 2) {
  const copy = freshCopy();
  const ok = step(`Benchmark smoke (npm run bench -- --smoke in a fresh copy without node_modules: ${copy})`, ["run", "bench", "--", "--smoke"], {
    command: process.platform === "win32" ? "npm.cmd" : "npm",
    cwd: copy,
  });
  rmSync(copy, { recursive: true, force: true });
  if (!ok) failed += 1;
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
