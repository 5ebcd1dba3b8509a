#!/usr/bin/env node
// The CLI is TypeScript run through tsx, like `npm start`; nothing to build first.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../src/cli/index.ts");
const code = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stderr.isTTY),
  env: process.env,
});
process.exitCode = code;
