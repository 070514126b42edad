// strata serve -m MODEL [--host 127.0.0.1] [--port 5000]: LibreTranslate's HTTP API over the
// model (nmt/serve/libretranslate.h), requests from all connections batched together
// (nmt/serve/translation_queue.h), Boost.Beast underneath (nmt/serve/http_server.h).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "data/data_config.h"
#include "data/lid.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/serve/http_server.h"
#include "nmt/serve/libretranslate.h"
#include "nmt/serve/metrics.h"
#include "nmt/serve/translation_queue.h"
#include "nmt/util/error.h"
#include "nmt/util/system.h"

namespace po = boost::program_options;

namespace strata::cli {

namespace {
std::atomic<nmt::serve::HttpServer*> g_server{nullptr};
// Async-signal-safe: HttpServer::stop() only sets an atomic flag that the accept loop polls.
void on_stop_signal(int) {
  if (auto* s = g_server.load()) s->stop();
}
}  // namespace

int run_serve(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata serve: a translation server speaking LibreTranslate's HTTP API, so that its clients\n"
      "work unchanged: POST /translate, POST /detect, GET /languages, GET /frontend/settings,\n"
      "GET /health (and GET /metrics in Prometheus's format). Requests from all connections are\n"
      "batched per target language.\n"
      "  strata serve -m best.pt [--port 5000]\n"
      "  curl -s localhost:5000/translate -H 'Content-Type: application/json' \\\n"
      "       -d '{\"q\": \"Save the file\", \"source\": \"en\", \"target\": \"de\"}'\n\n"
      "Options");
  desc.add_options()("help,h", "show this help")(
      "model,m", po::value<std::string>(), "checkpoint")(
      "host", po::value<std::string>()->default_value("127.0.0.1"), "address to listen on (loopback by default)")(
      "port", ranged<int>("port", 0, 65535)->default_value(5000), "port (0: any free one, printed)")(
      "beam", ranged<int>("beam", 1, 64), "beam size; default from the model's decode config")(
      "batch-tokens", ranged<int>("batch-tokens", 1, 1 << 24)->default_value(4000),
      "source tokens per batch of requests")(
      "batch-wait-ms", ranged<int>("batch-wait-ms", 0, 60000)->default_value(5),
      "how long a request waits for others to share its batch")(
      "max-queued", ranged<int>("max-queued", 1, 1 << 20)->default_value(256),
      "requests waiting for translation; beyond: 429")(
      "char-limit", ranged<int>("char-limit", -1, 1 << 30)->default_value(5000),
      "characters per request (-1: none)")(
      "max-connections", ranged<int>("max-connections", 1, 1 << 16)->default_value(64),
      "open connections; beyond: 503")(
      "timeout", ranged<int>("timeout", 1, 3600)->default_value(30), "seconds to receive a request")(
      "body-limit", ranged<int>("body-limit", 1, 1 << 30)->default_value(1 << 20), "request body bytes (413 beyond)")(
      "api-keys", po::value<std::string>(),
      "a file of API keys (one per line): /translate and /detect then need api_key (403 otherwise)")(
      "lid", po::value<std::string>(),
      "language identifier for source 'auto' and /detect (default: <out_dir>/lid.model of the model's data if present)")(
      "threads", ranged<int>("threads", 0, 1024)->default_value(0), "threads (0 = all cores)");
  add_compute_type_option(desc);
  add_shortlist_option(desc);
  add_expert_memory_option(desc);
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  if (!vm.count("model")) throw Error("--model is required");
  set_threads(vm["threads"].as<int>());
  const kernels::ComputeType compute = read_compute_type(vm, "serve", true);
  const std::string model = vm["model"].as<std::string>();
  spin_threads_for(compute, c10::Device(c10::kCPU));
  nmt::Translator tr(nmt::load_checkpoint(model, read_load_options(vm, c10::Device(c10::kCPU), compute)));
  check_expert_memory(vm, tr.checkpoint(), model);
  tr.set_compute_type(compute);
  spin_threads_for(tr.compute_type(), c10::Device(c10::kCPU));
  report_compute_type(compute, tr, "serve");
  set_up_expert_prefetch(vm, tr);
  set_up_shortlist(vm, tr, "serve", true);
  nmt::SearchOptions search = tr.default_options();
  if (vm.count("beam")) search.beam = vm["beam"].as<int>();
  const int batch = tr.config().decode.batch_size;
  const bool by_source = tr.config().model.lms.mode != nmt::LmsMode::kNone;

  // The language identifier: --lid, or the one `strata data lid` wrote for the model's data.
  std::unique_ptr<data::LanguageIdentifier> lid;
  std::string lid_path;
  if (vm.count("lid")) {
    lid_path = vm["lid"].as<std::string>();
  } else {
    try {
      const auto dcfg = data::load_data_config(tr.config().train.data, {});
      if (std::filesystem::exists(dcfg.out_dir + "/lid.model")) lid_path = dcfg.out_dir + "/lid.model";
    } catch (const Error&) {
      // the training data config is not here: no default identifier
    }
  }
  if (!lid_path.empty()) lid = std::make_unique<data::LanguageIdentifier>(data::LanguageIdentifier::load(lid_path));

  nmt::serve::QueueOptions qo;
  qo.max_tokens = vm["batch-tokens"].as<int>();
  qo.max_wait_ms = vm["batch-wait-ms"].as<int>();
  qo.max_queued = vm["max-queued"].as<int>();
  nmt::serve::TranslationQueue queue(
      [&](const std::vector<std::string>& lines, const std::string& src, const std::string& tgt, int nbest) {
        nmt::SearchOptions opt = search;
        opt.nbest = nbest;
        opt.beam = std::max(opt.beam, nbest);
        const auto out = tr.translate(lines, tgt, opt, batch, src);
        nmt::serve::JobResult r(out.size());
        for (size_t i = 0; i < out.size(); ++i)
          for (const auto& t : out[i]) r[i].push_back(t.text);
        return r;
      },
      [&](const std::string& line) { return static_cast<int64_t>(tr.tokenizer().encode(line).size()) + 2; }, qo,
      by_source);

  nmt::serve::ApiContext api;
  api.langs = tr.langs();
  api.lid = lid.get();
  api.char_limit = vm["char-limit"].as<int>();
  api.max_alternatives = std::max(0, std::min(search.beam, 8) - 1);
  if (vm.count("api-keys")) api.api_keys = nmt::serve::load_api_keys(vm["api-keys"].as<std::string>());
  api.translate = [&](nmt::serve::Job job) {
    auto f = queue.submit(std::move(job));
    if (!f) throw nmt::serve::Busy{};
    return f->get();
  };
  nmt::serve::ServerOptions so;
  so.host = vm["host"].as<std::string>();
  so.port = vm["port"].as<int>();
  so.max_connections = vm["max-connections"].as<int>();
  so.timeout_s = vm["timeout"].as<int>();
  so.body_limit = vm["body-limit"].as<int>();
  nmt::serve::Metrics metrics;
  nmt::serve::HttpServer server(so, [&](const nmt::serve::Request& r) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string path = r.target.substr(0, r.target.find('?'));
    nmt::serve::HttpReply reply;
    if (path == "/metrics") {
      reply = r.method == "GET" ? nmt::serve::HttpReply{200, metrics.render(queue.stats(), queue.batch_sizes()),
                                                        "text/plain; version=0.0.4"}
                                : nmt::serve::HttpReply{405, R"({"error":"Method not allowed"})"};
    } else {
      reply = nmt::serve::handle_api(r.method, r.target, r.content_type, r.body, api);
    }
    // Known paths only, so that the label set stays bounded.
    static const std::set<std::string> known = {"/translate", "/detect", "/languages", "/frontend/settings",
                                                "/health", "/metrics", "/"};
    metrics.record(known.count(path) ? path : "other", reply.status,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return reply;
  }, nmt::serve::WebSocketHandlers{
      [&](const nmt::serve::Request& r) { return nmt::serve::check_websocket_upgrade(r.target, api); },
      [&](const nmt::serve::Request& upgrade, const std::string& message) {
        const auto t0 = std::chrono::steady_clock::now();
        auto reply = nmt::serve::handle_marian_message(upgrade.target, message, api);
        metrics.record("websocket", reply.log.count("error") ? 400 : 200,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        return reply;
      }});
  // SIGTERM and SIGINT: stop accepting, finish the requests in flight, exit 0.
  g_server.store(&server);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::string langs;
  for (const auto& l : tr.langs()) langs += (langs.empty() ? "" : " ") + l;
  std::fprintf(stderr,
               "[serve] listening on http://%s:%d (%s; languages %s; auto-detection %s; batches of up to %d "
               "tokens, %d ms wait%s); try it at http://%s:%d/\n",
               so.host.c_str(), server.port(), model.c_str(), langs.c_str(),
               lid ? lid_path.c_str() : "off (no --lid)", qo.max_tokens, qo.max_wait_ms,
               api.api_keys.empty() ? "" : "; API keys required", so.host.c_str(), server.port());
  std::fflush(stderr);
  server.run();
  g_server.store(nullptr);
  queue.stop();
  const auto qs = queue.stats();
  std::fprintf(stderr, "[serve] stopped: %lld requests, %lld translation batches (%lld lines)\n",
               static_cast<long long>(server.stats().requests), static_cast<long long>(qs.batches),
               static_cast<long long>(qs.lines));
  return 0;
}

}  // namespace strata::cli
