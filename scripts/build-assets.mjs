// Builds the front-end assets into audit_app/static/dist from npm packages.
// Run by `make assets` (and so by `make run` and `make test`); nothing is
// fetched at run time.
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const govuk = join(root, "node_modules", "govuk-frontend", "dist", "govuk");
const out = join(root, "audit_app", "static", "dist");

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "images"), { recursive: true });

const css = sass.compile(join(root, "assets", "scss", "app.scss"), {
  loadPaths: [join(root, "node_modules")],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(join(out, "app.css"), css.css);

cpSync(join(govuk, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
cpSync(join(root, "assets", "js", "app.mjs"), join(out, "app.mjs"));
// Only the favicon: no crown, no crest, no GDS Transport font (this is not a
// GOV.UK service).
cpSync(join(govuk, "assets", "images", "favicon.ico"), join(out, "images", "favicon.ico"));
cpSync(join(govuk, "assets", "images", "favicon.svg"), join(out, "images", "favicon.svg"));
cpSync(join(root, "node_modules", "axe-core", "axe.min.js"), join(out, "axe.min.js"));
console.log(`assets built in ${out}`);
