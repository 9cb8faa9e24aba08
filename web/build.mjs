// Bundles web/widget/*.js (ES modules) into the one file a company site embeds with one <script> tag:
// connectors/webchat/static/widget.js, checked in so the server needs no Node. `--check` builds in memory
// and fails when the checked-in file is not what the sources build (tests/browser/test_frontend.py runs it).
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = join(here, "..", "connectors", "webchat", "static", "widget.js");
const BANNER = `/* supportbot chat widget: add it to any page with one <script src=".../widget.js" async></script>.
 * Options (data-* attributes on the tag): data-api, data-title, data-color, data-greeting, data-position,
 * data-max-file-mb (see web/widget/main.js). Built from web/widget/ by web/build.mjs: edit those, then
 * \`npm run build\` in web/. */`;

// ASCII only (esbuild escapes the rest): a classic script is decoded in the embedding page's charset.
const result = await build({
  entryPoints: [join(here, "widget", "main.js")],
  bundle: true,
  format: "iife",
  target: ["es2017"],
  legalComments: "inline",
  banner: { js: BANNER },
  write: false,
  logLevel: "warning",
});
const fresh = result.outputFiles[0].text;

if (process.argv.includes("--check")) {
  let current = "";
  try { current = readFileSync(outfile, "utf8"); } catch { /* missing: stale */ }
  if (current !== fresh) {
    console.error(`${outfile} is not what web/widget/ builds: run \`npm run build\` in web/ and commit it`);
    process.exit(1);
  }
  console.log("widget.js matches web/widget/");
} else {
  writeFileSync(outfile, fresh);
  console.log(`wrote ${outfile} (${fresh.length} bytes)`);
}
