#include "nmt/serve/libretranslate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/html_text.h"
#include "nmt/util/error.h"
#include "nmt/util/utf8.h"

namespace strata::nmt::serve {

namespace {

using nlohmann::json;

HttpReply error_reply(int status, const std::string& message) {
  return {status, json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace)};
}

HttpReply json_reply(const json& j) { return {200, j.dump(-1, ' ', false, json::error_handler_t::replace)}; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) throw Error("bad percent escape in form data");
      const int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) throw Error("bad percent escape in form data");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The model's code for a requested one: exact, case-insensitive, or a bare prefix that names
// exactly one of them ("zh" -> "zh-CN"); nullopt when none.
std::optional<std::string> resolve(const std::string& code, const std::vector<std::string>& langs) {
  for (const auto& l : langs)
    if (lower(l) == lower(code)) return l;
  std::optional<std::string> only;
  for (const auto& l : langs)
    if (lower(l).rfind(lower(code) + "-", 0) == 0) {
      if (only) return std::nullopt;
      only = l;
    }
  return only;
}

// The request's parameters: JSON object members (strings, arrays, numbers kept as JSON) or form
// fields (strings), with the query string's below them.
json request_params(const std::string& target, const std::string& content_type, const std::string& body) {
  json p = json::object();
  const auto q = target.find('?');
  if (q != std::string::npos)
    for (const auto& [k, v] : parse_form(target.substr(q + 1))) p[k] = v;
  const std::string ct = lower(content_type);
  if (ct.rfind("application/json", 0) == 0) {
    json j;
    try {
      j = json::parse(body);
    } catch (const json::exception& e) {
      throw Error(std::string("invalid JSON body (") + e.what() + ")");
    }
    if (!j.is_object()) throw Error("the JSON body must be an object");
    for (auto it = j.begin(); it != j.end(); ++it) p[it.key()] = it.value();
  } else if (ct.rfind("multipart/form-data", 0) == 0) {
    throw Error("multipart form data is not supported; send JSON or url-encoded form data");
  } else {  // url-encoded form data (also what curl -d sends without a content type)
    for (const auto& [k, v] : parse_form(body)) {
      if (find_invalid_utf8(v) != std::string::npos) throw Error("parameter '" + k + "' is not valid UTF-8");
      p[k] = v;
    }
  }
  return p;
}

// q as a list, and whether it was given as one.
std::vector<std::string> texts_of(const json& q, bool* is_list) {
  std::vector<std::string> out;
  *is_list = q.is_array();
  if (q.is_string()) {
    out.push_back(q.get<std::string>());
  } else if (q.is_array()) {
    for (const auto& x : q) {
      if (!x.is_string()) throw Error("Invalid request: q must be a string or a list of strings");
      out.push_back(x.get<std::string>());
    }
  } else {
    throw Error("Invalid request: q must be a string or a list of strings");
  }
  return out;
}

std::string string_param(const json& p, const std::string& key) {
  if (!p.contains(key) || p[key].is_null()) return "";
  if (p[key].is_string()) return p[key].get<std::string>();
  if (p[key].is_number_integer()) return std::to_string(p[key].get<int64_t>());
  throw Error("Invalid request: " + key + " must be a string");
}

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

HttpReply translate(const json& p, const ApiContext& cx) {
  if (!p.contains("q") || p["q"].is_null()) return error_reply(400, "Invalid request: missing q parameter");
  bool is_list = false;
  const auto texts = texts_of(p["q"], &is_list);
  if (texts.empty() || (!is_list && texts[0].empty())) return error_reply(400, "Invalid request: missing q parameter");
  const std::string source = string_param(p, "source"), target = string_param(p, "target");
  if (source.empty()) return error_reply(400, "Invalid request: missing source parameter");
  if (target.empty()) return error_reply(400, "Invalid request: missing target parameter");
  size_t chars = 0;
  for (const auto& t : texts) chars += code_points(t);
  if (cx.char_limit >= 0 && chars > static_cast<size_t>(cx.char_limit))
    return error_reply(400, "Invalid request: request (" + std::to_string(chars) + ") exceeds text limit (" +
                                std::to_string(cx.char_limit) + ")");
  const std::string format = string_param(p, "format");
  if (!format.empty() && format != "text" && format != "html")
    return error_reply(400, "Invalid request: format must be text or html, got '" + format + "'");
  const bool html = format == "html";
  int alternatives = 0;
  if (p.contains("alternatives") && !p["alternatives"].is_null()) {
    const std::string a = string_param(p, "alternatives");
    try {
      size_t used = 0;
      alternatives = std::stoi(a, &used);
      if (used != a.size()) throw std::invalid_argument(a);
    } catch (const std::exception&) {
      return error_reply(400, "Invalid request: alternatives must be an integer");
    }
    if (alternatives < 0 || alternatives > cx.max_alternatives)
      return error_reply(400, "Invalid request: alternatives must be between 0 and " + std::to_string(cx.max_alternatives));
  }
  const auto tgt = resolve(target, cx.langs);
  if (!tgt) return error_reply(400, target + " is not supported");
  std::vector<std::string> sources(texts.size());
  json detected = json::array();
  const bool autodetect = lower(source) == "auto";
  if (autodetect) {
    if (!cx.lid) return error_reply(400, "Invalid request: source 'auto' needs a language identifier (strata serve --lid)");
    for (size_t i = 0; i < texts.size(); ++i) {
      const auto pred = cx.lid->predict(texts[i]);
      // Not a language of the model, or nothing known: fall back to the first language (LibreTranslate
      // answers with its best guess too).
      const auto l = pred.lang.empty() ? std::nullopt : resolve(pred.lang, cx.langs);
      sources[i] = l ? *l : cx.langs.front();
      detected.push_back({{"confidence", l ? std::round(pred.prob * 1000) / 10 : 0.0}, {"language", sources[i]}});
    }
  } else {
    const auto src = resolve(source, cx.langs);
    if (!src) return error_reply(400, source + " is not supported");
    std::fill(sources.begin(), sources.end(), *src);
  }
  // One job per source language (sources differ only when detected).
  std::vector<std::vector<std::string>> out(texts.size());
  std::map<std::string, std::vector<size_t>> by_source;
  for (size_t i = 0; i < texts.size(); ++i) by_source[sources[i]].push_back(i);
  data::HtmlStats html_stats;
  BatchInfo largest;  // the largest batch this request's lines rode in
  auto run = [&](Job j) {
    j.batch = std::make_shared<BatchInfo>();
    auto info = j.batch;
    JobResult r = cx.translate(std::move(j));
    if (info->lines > largest.lines) largest = *info;
    return r;
  };
  for (const auto& [src, idx] : by_source) {
    Job job;
    job.src = src;
    job.tgt = *tgt;
    job.nbest = alternatives + 1;
    for (size_t i : idx) job.lines.push_back(texts[i]);
    if (html) {  // markup kept, the text between it translated (data/html_text.h); no alternatives
      job.nbest = 1;
      auto lines = [&](const std::vector<std::string>& l) {
        const JobResult r = run(Job{l, job.src, job.tgt, 1, nullptr});
        std::vector<std::string> best;
        for (const auto& n : r) best.push_back(n.empty() ? std::string() : n[0]);
        return best;
      };
      const auto docs = data::translate_html(job.lines, lines, &html_stats);
      for (size_t k = 0; k < idx.size(); ++k) out[idx[k]] = {docs[k]};
      continue;
    }
    const JobResult r = run(std::move(job));
    for (size_t k = 0; k < idx.size(); ++k) out[idx[k]] = r.at(k);
  }
  auto best = [&](size_t i) { return out[i].empty() ? std::string() : out[i][0]; };
  auto alts = [&](size_t i) {
    json a = json::array();
    for (size_t k = 1; k < out[i].size(); ++k) a.push_back(out[i][k]);
    return a;
  };
  json reply = json::object();
  std::string detected_langs;
  if (autodetect)
    for (const auto& d : detected) detected_langs += (detected_langs.empty() ? "" : ",") + d["language"].get<std::string>();
  std::map<std::string, std::string> log = {{"source", autodetect ? "auto:" + detected_langs : sources[0]},
                                                  {"target", *tgt},
                                                  {"characters", std::to_string(chars)},
                                                  {"texts", std::to_string(texts.size())},
                                                  {"format", html ? "html" : "text"}};
  if (html) log["html_split_runs"] = std::to_string(html_stats.split_runs);
  if (largest.requests > 0) {  // known where the queue reports it (strata serve)
    log["batch_requests"] = std::to_string(largest.requests);
    log["batch_lines"] = std::to_string(largest.lines);
  }
  if (is_list) {
    json t = json::array(), a = json::array();
    for (size_t i = 0; i < texts.size(); ++i) {
      t.push_back(best(i));
      a.push_back(alts(i));
    }
    reply["translatedText"] = t;
    if (alternatives > 0) reply["alternatives"] = a;
    if (autodetect) reply["detectedLanguage"] = detected;
  } else {
    reply["translatedText"] = best(0);
    if (alternatives > 0) reply["alternatives"] = alts(0);
    if (autodetect) reply["detectedLanguage"] = detected[0];
  }
  HttpReply r = json_reply(reply);
  r.log = log;
  return r;
}

HttpReply detect(const json& p, const ApiContext& cx) {
  if (!p.contains("q") || p["q"].is_null()) return error_reply(400, "Invalid request: missing q parameter");
  if (!cx.lid) return error_reply(400, "Invalid request: detection needs a language identifier (strata serve --lid)");
  bool is_list = false;
  const auto texts = texts_of(p["q"], &is_list);
  if (texts.empty()) return error_reply(400, "Invalid request: missing q parameter");
  json all = json::array();
  for (const auto& t : texts) {
    json ranked = json::array();
    for (const auto& s : cx.lid->rank(t)) {
      if (ranked.size() == 3) break;
      const auto l = resolve(s.lang, cx.langs);
      if (l) ranked.push_back({{"confidence", std::round(s.prob * 1000) / 10}, {"language", *l}});
    }
    all.push_back(ranked);
  }
  // LibreTranslate answers one text with its ranking, several with one ranking each.
  return json_reply(is_list ? all : all[0]);
}

}  // namespace

std::optional<HttpReply> check_websocket_upgrade(const std::string& target, const ApiContext& cx) {
  const std::string path = target.substr(0, target.find('?'));
  if (path != "/translate") return error_reply(404, "Not Found (WebSocket: /translate)");
  try {
    const json p = request_params(target, "", "");
    if (!cx.api_keys.empty() && !cx.api_keys.count(string_param(p, "api_key"))) return error_reply(403, "Invalid API key");
    const std::string source = string_param(p, "source"), tgt = string_param(p, "target");
    if (!source.empty() && lower(source) != "auto" && !resolve(source, cx.langs))
      return error_reply(400, source + " is not supported");
    if ((source.empty() || lower(source) == "auto") && !cx.lid)
      return error_reply(400, "Invalid request: give source=xx (no language identifier loaded for auto)");
    if (!tgt.empty() && !resolve(tgt, cx.langs)) return error_reply(400, tgt + " is not supported");
  } catch (const Error& e) {
    return error_reply(400, std::string("Invalid request: ") + e.what());
  }
  return std::nullopt;
}

HttpReply handle_marian_message(const std::string& target, const std::string& message, const ApiContext& cx) {
  HttpReply reply;
  auto fail = [&](const std::string& why) {
    reply.body = "error: " + why;
    reply.log["error"] = why;
    return reply;
  };
  if (find_invalid_utf8(message) != std::string::npos) return fail("the message is not valid UTF-8");
  const size_t chars = code_points(message);
  if (cx.char_limit >= 0 && chars > static_cast<size_t>(cx.char_limit))
    return fail("the message (" + std::to_string(chars) + " characters) exceeds the limit (" +
                std::to_string(cx.char_limit) + ")");
  const json p = request_params(target, "", "");
  const std::string source = string_param(p, "source"), default_tgt = string_param(p, "target");
  const bool autodetect = source.empty() || lower(source) == "auto";
  // Lines, each with its languages.
  std::vector<std::string> lines, srcs, tgts;
  for (size_t at = 0; at <= message.size();) {
    size_t end = message.find('\n', at);
    if (end == std::string::npos) end = message.size();
    std::string line = message.substr(at, end - at);
    at = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string tgt = default_tgt;
    if (line.rfind(">>", 0) == 0) {  // OPUS-MT's target tag
      const size_t close = line.find("<<", 2);
      if (close != std::string::npos && close > 2 && close <= 12) {
        tgt = line.substr(2, close - 2);
        line = line.substr(close + 2);
        if (!line.empty() && line[0] == ' ') line.erase(0, 1);
      }
    }
    std::string src;
    if (!line.empty()) {
      if (tgt.empty()) return fail("no target language: add ?target=xx to the URL or start the line with >>xx<<");
      const auto t = resolve(tgt, cx.langs);
      if (!t) return fail(tgt + " is not supported");
      tgt = *t;
      if (autodetect) {
        if (!cx.lid) return fail("no source language: add ?source=xx to the URL");
        const auto pred = cx.lid->predict(line);
        const auto l = pred.lang.empty() ? std::nullopt : resolve(pred.lang, cx.langs);
        src = l ? *l : cx.langs.front();
      } else {
        const auto s = resolve(source, cx.langs);
        if (!s) return fail(source + " is not supported");
        src = *s;
      }
    }
    lines.push_back(std::move(line));
    srcs.push_back(std::move(src));
    tgts.push_back(std::move(tgt));
    if (end == message.size()) break;
  }
  // One job per direction.
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> groups;
  for (size_t i = 0; i < lines.size(); ++i)
    if (!lines[i].empty()) groups[{srcs[i], tgts[i]}].push_back(i);
  std::vector<std::string> out(lines.size());
  BatchInfo largest;
  try {
    for (const auto& [dir, idx] : groups) {
      Job job;
      job.src = dir.first;
      job.tgt = dir.second;
      for (size_t i : idx) job.lines.push_back(lines[i]);
      job.batch = std::make_shared<BatchInfo>();
      auto info = job.batch;
      const JobResult r = cx.translate(std::move(job));
      if (info->lines > largest.lines) largest = *info;
      for (size_t k = 0; k < idx.size(); ++k) out[idx[k]] = r.at(k).empty() ? std::string() : r.at(k)[0];
    }
  } catch (const Busy&) {
    return fail("the server is busy, try again");
  }
  for (size_t i = 0; i < out.size(); ++i) reply.body += (i ? "\n" : "") + out[i];
  std::string dirs;
  for (const auto& [dir, idx] : groups) dirs += (dirs.empty() ? "" : ",") + dir.first + ">" + dir.second;
  reply.log = {{"directions", dirs}, {"characters", std::to_string(chars)}, {"texts", std::to_string(lines.size())}};
  if (largest.requests > 0) {
    reply.log["batch_requests"] = std::to_string(largest.requests);
    reply.log["batch_lines"] = std::to_string(largest.lines);
  }
  return reply;
}

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t at = 0;
  while (at <= body.size()) {
    size_t end = body.find('&', at);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(at, end - at);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      out[percent_decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1));
    }
    at = end + 1;
  }
  return out;
}

std::set<std::string> load_api_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read the API key file");
  std::set<std::string> keys;
  for (std::string line; std::getline(in, line);) {
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    const auto e = line.find_last_not_of(" \t\r");
    keys.insert(line.substr(b, e - b + 1));
  }
  if (keys.empty()) throw Error(path + ": no API keys in the file");
  return keys;
}

const std::string& try_page() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Strata</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; }
  .row { display: flex; gap: 1rem; }
  .col { flex: 1; display: flex; flex-direction: column; gap: .5rem; }
  textarea, #output { min-height: 10rem; font: inherit; padding: .5rem; border: 1px solid #bbb; border-radius: 4px; }
  #output { white-space: pre-wrap; background: #f6f6f6; }
  #status { color: #a00; min-height: 1.2rem; }
  button { font: inherit; padding: .4rem 1.2rem; }
</style>
</head>
<body>
<h1>Strata</h1>
<div class="row">
  <div class="col">
    <select id="source" aria-label="source language"><option value="auto">Detect language</option></select>
    <textarea id="input" placeholder="Text to translate"></textarea>
  </div>
  <div class="col">
    <select id="target" aria-label="target language"></select>
    <div id="output" aria-live="polite"></div>
  </div>
</div>
<p><button id="go">Translate</button> <span id="status"></span></p>
<script>
const $ = (id) => document.getElementById(id);
fetch('/languages').then((r) => r.json()).then((langs) => {
  for (const l of langs) {
    $('source').add(new Option(l.name, l.code));
    $('target').add(new Option(l.name, l.code));
  }
  if (langs.length > 1) $('target').value = langs[1].code;
  // A link may carry the request: /?source=en&target=de&q=text translates on load.
  const p = new URLSearchParams(location.search);
  if (p.get('source')) $('source').value = p.get('source');
  if (p.get('target')) $('target').value = p.get('target');
  if (p.get('q')) { $('input').value = p.get('q'); $('go').click(); }
}).catch((e) => { $('status').textContent = 'cannot load the languages: ' + e; });
$('go').addEventListener('click', async () => {
  $('status').textContent = '';
  const lines = $('input').value.split('\n');
  try {
    const r = await fetch('/translate', {method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({q: lines, source: $('source').value, target: $('target').value})});
    const j = await r.json();
    if (!r.ok) { $('status').textContent = j.error || r.statusText; return; }
    $('output').textContent = j.translatedText.join('\n');
    document.body.dataset.translated = 'yes';
  } catch (e) { $('status').textContent = String(e); }
});
</script>
</body>
</html>
)HTML";
  return page;
}

std::string language_name(const std::string& code) {
  static const std::map<std::string, std::string> names = {
      {"ar", "Arabic"},    {"bg", "Bulgarian"}, {"ca", "Catalan"},  {"cs", "Czech"},      {"da", "Danish"},
      {"de", "German"},    {"el", "Greek"},     {"en", "English"},  {"es", "Spanish"},    {"et", "Estonian"},
      {"eu", "Basque"},    {"fa", "Persian"},   {"fi", "Finnish"},  {"fr", "French"},     {"ga", "Irish"},
      {"gl", "Galician"},  {"he", "Hebrew"},    {"hi", "Hindi"},    {"hr", "Croatian"},   {"hu", "Hungarian"},
      {"id", "Indonesian"}, {"it", "Italian"},  {"ja", "Japanese"}, {"ko", "Korean"},     {"lt", "Lithuanian"},
      {"lv", "Latvian"},   {"nb-NO", "Norwegian Bokmål"}, {"nl", "Dutch"}, {"pl", "Polish"}, {"pt", "Portuguese"},
      {"pt-BR", "Portuguese (Brazil)"}, {"pt-PT", "Portuguese (Portugal)"}, {"ro", "Romanian"}, {"ru", "Russian"},
      {"sk", "Slovak"},    {"sl", "Slovenian"}, {"sr", "Serbian"},  {"sv-SE", "Swedish"}, {"th", "Thai"},
      {"tr", "Turkish"},   {"uk", "Ukrainian"}, {"vi", "Vietnamese"}, {"zh-CN", "Chinese (Simplified)"},
      {"zh-TW", "Chinese (Traditional)"}};
  const auto it = names.find(code);
  return it == names.end() ? code : it->second;
}

HttpReply handle_api(const std::string& method, const std::string& target, const std::string& content_type,
                     const std::string& body, const ApiContext& cx) {
  const std::string path = target.substr(0, target.find('?'));
  try {
    if (path == "/health") {
      if (method != "GET") return error_reply(405, "Method not allowed");
      return json_reply({{"status", "ok"}});
    }
    if (path == "/languages") {
      if (method != "GET") return error_reply(405, "Method not allowed");
      json all = json::array();
      for (const auto& l : cx.langs) {
        json targets = json::array();
        for (const auto& t : cx.langs)
          if (t != l) targets.push_back(t);
        all.push_back({{"code", l}, {"name", language_name(l)}, {"targets", targets}});
      }
      return json_reply(all);
    }
    if (path == "/frontend/settings") {
      if (method != "GET") return error_reply(405, "Method not allowed");
      const std::string first_target = cx.langs.size() > 1 ? cx.langs[1] : cx.langs.front();
      return json_reply({{"charLimit", cx.char_limit},
                         {"frontendTimeout", 500},
                         {"apiKeys", !cx.api_keys.empty()},
                         {"keyRequired", !cx.api_keys.empty()},
                         {"suggestions", false},
                         {"filesTranslation", false},
                         {"supportedFilesFormat", json::array()},
                         {"language",
                          {{"source", {{"code", cx.lid ? "auto" : cx.langs.front()},
                                       {"name", cx.lid ? "Auto Detect" : language_name(cx.langs.front())}}},
                           {"target", {{"code", first_target}, {"name", language_name(first_target)}}}}}});
    }
    if (path == "/" || path == "/index.html") {
      if (method != "GET") return error_reply(405, "Method not allowed");
      return {200, try_page(), "text/html; charset=utf-8"};
    }
    if (path == "/translate" || path == "/detect") {
      if (method != "POST") return error_reply(405, "Method not allowed");
      const json p = request_params(target, content_type, body);
      if (!cx.api_keys.empty() && !cx.api_keys.count(string_param(p, "api_key")))
        return error_reply(403, "Invalid API key");
      return path == "/translate" ? translate(p, cx) : detect(p, cx);
    }
    return error_reply(404, "Not Found");
  } catch (const Busy&) {
    return error_reply(429, "Too many requests: the translation queue is full; try again later");
  } catch (const Error& e) {
    const std::string m = e.what();
    return error_reply(400, m.rfind("Invalid request", 0) == 0 ? m : "Invalid request: " + m);
  } catch (const std::exception& e) {
    return error_reply(500, std::string("Internal error: ") + e.what());
  }
}

}  // namespace strata::nmt::serve
