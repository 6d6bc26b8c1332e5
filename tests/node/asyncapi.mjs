// Validates AsyncAPI documents with the official parser (@asyncapi/parser).
//
//   node asyncapi.mjs FILE...
//
// Prints every diagnostic ("error"/"warning" lines with their JSON path) and a summary per
// file ("ok - FILE: N operations, M messages"); exits 0 only if every file parsed without
// an error-level diagnostic, 1 otherwise, 2 on bad arguments.

import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const SEVERITY = ["error", "warning", "info", "hint"];

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node asyncapi.mjs FILE...");
  process.exit(2);
}

const parser = new Parser();
let failed = false;
for (const file of files) {
  const text = await readFile(file, "utf8");
  const { document, diagnostics } = await parser.parse(text);
  for (const d of diagnostics) {
    console.log(`${SEVERITY[d.severity] ?? d.severity}: ${file}: ${d.code}: ${d.message} at /${d.path.join("/")}`);
  }
  const errors = diagnostics.filter((d) => d.severity === 0);
  if (document === undefined || errors.length > 0) {
    failed = true;
    console.log(`not ok - ${file}: ${errors.length} error(s)`);
  } else {
    console.log(`ok - ${file}: ${document.operations().length} operations, ${document.allMessages().length} messages`);
  }
}
process.exit(failed ? 1 : 0);
