// Parse and validate an AsyncAPI document with the official parser: node validate-asyncapi.mjs FILE
// Prints one JSON line {valid, errors, warnings, channels, operations}; exit 1 when invalid.
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const text = await readFile(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(text);
const pick = (severity) =>
  diagnostics
    .filter((d) => d.severity === severity)
    .map((d) => `${d.code}: ${d.message} at /${d.path.join("/")}`);
const errors = pick(DiagnosticSeverity.Error);
const summary = {
  valid: document !== undefined && errors.length === 0,
  errors,
  warnings: pick(DiagnosticSeverity.Warning),
  channels: document ? document.channels().length : 0,
  operations: document ? document.operations().length : 0,
};
console.log(JSON.stringify(summary));
process.exit(summary.valid ? 0 : 1);
