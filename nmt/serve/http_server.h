#pragma once
// The HTTP/1.1 and WebSocket transport of `strata serve` on Boost.Beast: one thread per connection (their
// number capped), keep-alive, a body limit, a timeout on every socket read and write (a silent or
// trickling client cannot hold a connection longer than the request deadline), CORS for browser
// clients, graceful stop (no new connections; those in flight finish their request). The handler
// is nmt/serve/libretranslate's, or anything with its signature.
//
//   HttpServer server(ServerOptions{}, [&](const Request& r) { return handle_api(...); });
//   server.run();           // until stop() (e.g. from a SIGTERM watcher)
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "nmt/serve/libretranslate.h"

namespace strata::nmt::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 5000;                 // 0: any free port (port() says which)
  int max_connections = 64;        // beyond: 503 and close
  int timeout_s = 30;              // per request: reading it and writing the reply
  int64_t body_limit = 1 << 20;    // bytes (413 beyond)
};

struct Request {
  std::string method, target, content_type, body, id;
};

struct ServerStats {
  int64_t requests = 0, rejected_connections = 0;
  int64_t open_connections = 0;
};

// WebSocket connections (an HTTP request with `Upgrade: websocket`); unset: refused with 400.
struct WebSocketHandlers {
  // The upgrade request: nullopt accepts, a reply refuses (sent as HTTP, then closed).
  std::function<std::optional<HttpReply>(const Request&)> accept;
  // One text message of an accepted connection -> the reply message (body) and its log fields.
  std::function<HttpReply(const Request& upgrade, const std::string& message)> message;
};

class HttpServer {
 public:
  using Handler = std::function<HttpReply(const Request&)>;
  // Binds (throws strata::Error naming host:port when it cannot). A WebSocket connection waits
  // for messages as long as it likes (it counts against max_connections), but each message must
  // arrive whole within timeout_s of its first byte; at stop() it closes after the message in
  // flight.
  HttpServer(ServerOptions options, Handler handler, WebSocketHandlers websocket = {});
  ~HttpServer();
  int port() const;
  // Accepts until stop(); then waits for the open connections' requests to finish.
  void run();
  // From any thread or a signal watcher: stop accepting and let run() return.
  void stop();
  ServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::nmt::serve
