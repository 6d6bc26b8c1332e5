// Checks JSON values against the zod schemas of the generated TypeScript (compiled to JS).
//
//   node zod_check.mjs MODULE_DIR CASES.json
//
// CASES.json is an array of {contract, kind, name, value, valid}: kind is "request",
// "response", "event" or "error" (an error code's details); `valid` says whether the Rust
// side accepts the value, and zod must agree. Prints "not ok - ..." per disagreement (at
// most 20) and a summary line "ok - N cases (V accepted, R rejected)"; exits 0 only if
// zod agreed on every case, 1 otherwise, 2 on bad arguments.

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [dir, casesFile] = process.argv.slice(2);
if (dir === undefined || casesFile === undefined) {
  console.error("usage: node zod_check.mjs MODULE_DIR CASES.json");
  process.exit(2);
}

const modules = new Map();
async function contract(name) {
  if (!modules.has(name)) modules.set(name, await import(pathToFileURL(resolve(dir, `${name}.js`)).href));
  return modules.get(name);
}

function schemaOf(module, { kind, name }) {
  switch (kind) {
    case "request": return module.requests[name]?.requestSchema;
    case "response": return module.requests[name]?.responseSchema;
    case "event": return module.events[name];
    case "error": return module.errorDetails[name];
    default: return undefined;
  }
}

const cases = JSON.parse(await readFile(casesFile, "utf8"));
let failures = 0;
let accepted = 0;
for (const [i, c] of cases.entries()) {
  const schema = schemaOf(await contract(c.contract), c);
  if (schema === undefined) {
    failures++;
    console.log(`not ok - case ${i}: ${c.contract} has no ${c.kind} schema for ${c.name}`);
    continue;
  }
  const result = schema.safeParse(c.value);
  if (result.success) accepted++;
  if (result.success !== c.valid) {
    failures++;
    if (failures <= 20) {
      const why = result.success ? "zod accepted a value Rust refuses" : `zod refused a value Rust accepts: ${result.error.message}`;
      console.log(`not ok - case ${i}: ${c.contract} ${c.kind} ${c.name}: ${why}: ${JSON.stringify(c.value)}`);
    }
  }
}
if (failures > 0) {
  console.log(`not ok - ${failures} of ${cases.length} cases disagree`);
  process.exit(1);
}
console.log(`ok - ${cases.length} cases (${accepted} accepted, ${cases.length - accepted} rejected)`);
