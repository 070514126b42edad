#pragma once
// LibreTranslate's HTTP API as its own server answers it (libretranslate/app.py), so that its
// clients work unchanged against `strata serve`:
//   POST /translate  q (string or array), source (code or "auto"), target, format ("text", or
//                    "html": markup kept, text between translated, data/html_text.h),
//                    alternatives (n-best beyond the first), api_key; JSON or form data.
//                    -> {"translatedText": …} (a list for a list), "detectedLanguage" for auto,
//                    "alternatives" when asked
//   POST /detect     q -> [{"confidence": 0..100, "language": code}]
//   GET  /languages  [{"code", "name", "targets"}]
//   GET  /frontend/settings, GET /health, GET / (a page to try it)
// Errors: {"error": "…"} with 400 (bad request), 403 (API key), 404, 405, 429 (queue full), 500.
// The handler is transport-free (nmt/serve/http_server.h carries it over Boost.Beast).
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "data/lid.h"
#include "nmt/serve/translation_queue.h"

namespace strata::nmt::serve {

struct HttpReply {
  HttpReply() = default;
  HttpReply(int status_code, std::string body_text, std::string type = "application/json")
      : status(status_code), body(std::move(body_text)), content_type(std::move(type)) {}
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Fields for the request's log line (e.g. languages and characters of a translation).
  std::map<std::string, std::string> log;
};

// Thrown by ApiContext::translate when the queue is full (-> 429).
struct Busy {};

struct ApiContext {
  std::vector<std::string> langs;  // the model's languages
  // Translates (blocking); throws Busy when the server cannot take more work.
  std::function<JobResult(Job)> translate;
  const data::LanguageIdentifier* lid = nullptr;  // for "auto" and /detect (null: not available)
  int char_limit = 5000;                          // characters of q per request (-1: none)
  int max_alternatives = 3;
  // Non-empty: /translate and /detect need an `api_key` among these (403 otherwise).
  std::set<std::string> api_keys;
};

// The keys of an API key file: one per line, blank lines and lines starting with '#' ignored.
// Throws strata::Error "<path>: …" for a missing file or one without keys.
std::set<std::string> load_api_keys(const std::string& path);

// The page at `/`: one static HTML file (no build step) that fills its language menus from
// /languages and translates through /translate.
const std::string& try_page();

// Answers one request. `content_type` is the request's Content-Type header (may be empty).
HttpReply handle_api(const std::string& method, const std::string& target, const std::string& content_type,
                     const std::string& body, const ApiContext& context);

// Marian's WebSocket protocol (marian-server) on /translate, so that its clients work too: one
// text message in, its lines translated, one text message out (the translations joined by '\n',
// line for line; empty lines stay empty). Languages: `source` and `target` in the upgrade URL's
// query (source default: detected per line where an identifier is loaded), and a line may start
// with an OPUS-MT target tag ">>de<<" that sets that line's target. A message that cannot be
// translated (no or unknown language, over the character limit, invalid UTF-8, queue full) is
// answered with one line "error: …". `api_key` goes in the query when keys are required.
//
// The upgrade request (its target URL): nullopt accepts, a reply refuses (sent as HTTP).
std::optional<HttpReply> check_websocket_upgrade(const std::string& target, const ApiContext& context);
// One message of an accepted connection: the reply message in `body`, log fields in `log`.
HttpReply handle_marian_message(const std::string& target, const std::string& message, const ApiContext& context);

// application/x-www-form-urlencoded: key -> value (percent-decoded, '+' as space; the last of a
// repeated key). Throws strata::Error on a bad percent escape.
std::map<std::string, std::string> parse_form(const std::string& body);

// The English name of a language code ("de" -> "German"; the code itself when unknown).
std::string language_name(const std::string& code);

}  // namespace strata::nmt::serve
