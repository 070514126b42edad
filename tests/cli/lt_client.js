// The npm `libretranslate` client (its own code, unchanged) against `strata serve`, for
// tests/cli/serve_cli_test.cpp:  NODE_PATH=BUILD/npm/node_modules node lt_client.js URL
// Prints the replies as one JSON object.
const { translate } = require("libretranslate");

(async () => {
  const apiurl = process.argv[2];
  const out = {};
  out.text = await translate({ query: "open the file", source: "en", target: "de", apiurl });
  out.list = await translate({ query: ["open the file", "save"], source: "en", target: "de", apiurl });
  out.html = await translate({ query: "<p>open <b>the</b> file</p>", source: "en", target: "de", format: "html", apiurl });
  try {
    await translate({ query: "x", source: "en", target: "xx", apiurl });
    out.unknown = "accepted";
  } catch (e) {
    out.unknown = e.message;
  }
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
