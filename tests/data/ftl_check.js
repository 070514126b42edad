// Parses each .ftl file given with @fluent/syntax (Mozilla's own parser) and exits non-zero
// when any entry is Junk. Used by tests/data/catalog_test.cpp; NODE_PATH points at the
// node_modules that scripts/bootstrap.sh installs.
const fs = require("fs");
const { parse } = require("@fluent/syntax");
let bad = 0;
for (const file of process.argv.slice(2)) {
  const res = parse(fs.readFileSync(file, "utf8"), { withSpans: true });
  for (const entry of res.body) {
    if (entry.type === "Junk") {
      bad++;
      console.error(`${file}: Junk: ${entry.annotations.map((a) => a.message).join("; ")}`);
    }
  }
}
process.exit(bad ? 1 : 0);
