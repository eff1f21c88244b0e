// Load a flag file with flagd's own storage in strict mode: it validates the file
// against flagd's flag and targeting JSON schemas, then evaluates the given flag for
// each tenant named after the file, printing "tenant=value" lines. Exits non-zero on
// any problem, so the export test fails when flagd would refuse the file.
import { readFileSync } from "node:fs";
import { FlagdCore, MemoryStorage } from "@openfeature/flagd-core";

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const [file, flag, ...tenants] = process.argv.slice(2);
try {
  const storage = new MemoryStorage(quiet);
  storage.setConfigurations(readFileSync(file, "utf8"), true);
  const core = new FlagdCore(storage, quiet);
  for (const tenant of tenants) {
    const result = core.resolveBooleanEvaluation(flag, true, { targetingKey: tenant, tenant }, quiet);
    console.log(`${tenant}=${result.value}`);
  }
} catch (err) {
  console.error(`invalid: ${err.message}`);
  process.exit(1);
}
