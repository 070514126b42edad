#include "nmt/serve/http_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "nmt/util/error.h"

namespace strata::nmt::serve {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct HttpServer::Impl {
  ServerOptions options;
  Handler handler;
  WebSocketHandlers websocket;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> next_id{1};
  std::mutex mu;
  std::condition_variable idle;
  ServerStats stats;

  void session(tcp::socket sock);
  void websocket_session(tcp::socket& sock, const http::request<http::string_body>& req, const Request& upgrade);
};

namespace {

// Socket read/write timeouts (each blocking call returns after at most this long).
void set_timeouts(tcp::socket& s, double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  if (tv.tv_sec == 0 && tv.tv_usec < 1000) tv.tv_usec = 1000;
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

http::response<http::string_body> make_response(unsigned version, bool keep_alive, const HttpReply& r) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "strata");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::access_control_allow_origin, "*");
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  return res;
}

HttpReply error_json(int status, const std::string& message) {
  return {status, nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

void log_line(const nlohmann::json& log) {
  std::fprintf(stderr, "%s\n", log.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

// The socket under a WebSocket stream, with the server's deadlines: while idle (between
// messages) a read waits as long as it takes, waking every second to see a stop; once bytes of
// a message arrive, every read and write must finish by the deadline (asio's blocking calls
// ignore SO_RCVTIMEO, hence the poll before each call, as in the HTTP session).
class DeadlineStream {
 public:
  using executor_type = tcp::socket::executor_type;
  DeadlineStream(tcp::socket& sock, const std::atomic<bool>& stopping, int timeout_s)
      : sock_(sock), stopping_(stopping), timeout_(std::chrono::seconds(timeout_s)) {}
  executor_type get_executor() noexcept { return sock_.get_executor(); }
  tcp::socket& socket() { return sock_; }
  // Between messages: reads wait without a deadline until bytes come.
  void idle() { idle_ = true; }
  // From now on (e.g. writing a reply) the deadline applies.
  void busy() {
    idle_ = false;
    deadline_ = Clock::now() + timeout_;
  }

  template <class Buffers>
  size_t read_some(const Buffers& b, beast::error_code& ec) {
    if (!wait(POLLIN, ec)) return 0;
    return sock_.read_some(b, ec);
  }
  template <class Buffers>
  size_t read_some(const Buffers& b) {
    beast::error_code ec;
    const size_t n = read_some(b, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }
  template <class Buffers>
  size_t write_some(const Buffers& b, beast::error_code& ec) {
    if (!wait(POLLOUT, ec)) return 0;
    return sock_.write_some(b, ec);
  }
  template <class Buffers>
  size_t write_some(const Buffers& b) {
    beast::error_code ec;
    const size_t n = write_some(b, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  bool wait(short events, beast::error_code& ec) {
    for (;;) {
      int wait_ms = 1000;
      if (!idle_ || events != POLLIN) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
        if (left <= 0) {
          ec = beast::error::timeout;
          return false;
        }
        wait_ms = static_cast<int>(std::min<int64_t>(left, 1000));
      }
      pollfd p{sock_.native_handle(), events, 0};
      const int ready = ::poll(&p, 1, wait_ms);
      if (ready < 0 && errno != EINTR) {
        ec = beast::error_code(errno, boost::system::system_category());
        return false;
      }
      if (ready > 0) {
        if (idle_ && events == POLLIN) busy();  // a message begins: its deadline starts
        return true;
      }
      if (idle_ && events == POLLIN && stopping_) {
        ec = net::error::operation_aborted;
        return false;
      }
    }
  }

  tcp::socket& sock_;
  const std::atomic<bool>& stopping_;
  std::chrono::seconds timeout_;
  bool idle_ = false;
  Clock::time_point deadline_ = Clock::now();
};

// Closing a WebSocket over DeadlineStream closes its socket (Beast finds this by ADL).
void teardown(beast::role_type role, DeadlineStream& s, beast::error_code& ec) {
  beast::websocket::teardown(role, s.socket(), ec);
}

}  // namespace

void HttpServer::Impl::websocket_session(tcp::socket& sock, const http::request<http::string_body>& req,
                                         const Request& upgrade) {
  namespace wsns = beast::websocket;
  DeadlineStream ds(sock, stopping, options.timeout_s);
  wsns::stream<DeadlineStream&> ws(ds);
  ws.read_message_max(static_cast<uint64_t>(options.body_limit));
  ws.set_option(wsns::stream_base::decorator(
      [](wsns::response_type& res) { res.set(http::field::server, "strata"); }));
  beast::error_code ec;
  ds.busy();
  ws.accept(req, ec);
  if (ec) return;
  log_line({{"event", "websocket_open"}, {"id", upgrade.id}, {"path", upgrade.target.substr(0, upgrade.target.find('?'))}});
  int64_t messages = 0;
  for (;;) {
    beast::flat_buffer buffer;
    ds.idle();
    ws.read(buffer, ec);
    if (ec) break;  // closed by the client, timed out, stopping or broken
    ds.busy();
    const auto t0 = Clock::now();
    HttpReply reply;
    if (!ws.got_text()) {
      reply.body = "error: send text messages";
    } else {
      try {
        reply = websocket.message(upgrade, beast::buffers_to_string(buffer.data()));
      } catch (const std::exception& e) {
        reply.body = std::string("error: internal error: ") + e.what();
      }
    }
    ws.text(true);
    ws.write(net::buffer(reply.body), ec);
    ++messages;
    nlohmann::json log = {{"event", "websocket_message"}, {"id", upgrade.id + "." + std::to_string(messages)},
                          {"bytes_in", buffer.size()},
                          {"ms", std::round(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() * 10) / 10}};
    for (const auto& [k, v] : reply.log) log[k] = v;
    log_line(log);
    {
      std::lock_guard<std::mutex> lock(mu);
      ++stats.requests;
    }
    if (ec) break;
    if (stopping) {  // the message in flight is answered; then the connection closes
      ds.busy();
      ws.close(wsns::close_code::going_away, ec);
      break;
    }
  }
  log_line({{"event", "websocket_close"}, {"id", upgrade.id}, {"messages", messages}});
}

void HttpServer::Impl::session(tcp::socket sock) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(static_cast<uint64_t>(options.body_limit));
    parser.header_limit(16 * 1024);
    const auto deadline = Clock::now() + std::chrono::seconds(options.timeout_s);
    bool timed_out = false;
    // Read the request in pieces: wait (poll, at most 1 s at a time, so that a stop is noticed
    // between requests) until the socket has bytes, then take them; the whole request must arrive
    // before the deadline. (asio's blocking reads ignore SO_RCVTIMEO, hence the poll.)
    while (!parser.is_done()) {
      const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      if (buffer.size() == 0) {
        pollfd p{sock.native_handle(), POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::min(left, 1.0) * 1000) + 1);
        if (ready < 0 && errno != EINTR) return;
        if (ready <= 0) {
          if (!parser.got_some() && stopping) return;  // idle keep-alive connection at shutdown
          continue;
        }
      }
      http::read_some(sock, buffer, parser, ec);
      if (ec) break;
    }
    const bool started = parser.got_some();
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset) return;
    if (timed_out) {
      if (started) {  // a request began and did not finish in time
        set_timeouts(sock, 1);
        http::write(sock, make_response(11, false, error_json(408, "Request timeout")), ec);
      }
      return;
    }
    if (ec == http::error::body_limit) {
      set_timeouts(sock, 5);
      http::write(sock, make_response(11, false, error_json(413, "Request body too large")), ec);
      return;
    }
    if (ec) {
      set_timeouts(sock, 5);
      http::write(sock, make_response(11, false, error_json(400, "Bad request: " + ec.message())), ec);
      return;
    }
    const auto& req = parser.get();
    const auto t0 = Clock::now();
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.content_type = std::string(req[http::field::content_type]);
    r.body = req.body();
    r.id = std::to_string(next_id++);
    if (beast::websocket::is_upgrade(req)) {
      std::optional<HttpReply> refused;
      if (!websocket.accept || !websocket.message)
        refused = error_json(400, "WebSocket is not served here");
      else if (stopping)
        refused = error_json(503, "Server is shutting down");
      else
        refused = websocket.accept(r);
      if (!refused) {
        websocket_session(sock, req, r);
        return;
      }
      set_timeouts(sock, 5);
      http::write(sock, make_response(req.version(), false, *refused), ec);
      log_line({{"event", "request"}, {"id", r.id}, {"method", r.method},
                {"path", r.target.substr(0, r.target.find('?'))}, {"status", refused->status}, {"websocket", true}});
      return;
    }
    HttpReply reply;
    if (req.method() == http::verb::options) {  // CORS preflight
      reply = {204, "", "text/plain"};
    } else if (stopping) {
      reply = error_json(503, "Server is shutting down");
    } else {
      try {
        reply = handler(r);
      } catch (const std::exception& e) {
        reply = error_json(500, std::string("Internal error: ") + e.what());
      }
    }
    auto res = make_response(req.version(), req.keep_alive() && !stopping, reply);
    if (req.method() == http::verb::options) {
      res.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
      res.set(http::field::access_control_allow_headers, "Content-Type");
    }
    set_timeouts(sock, options.timeout_s);
    http::write(sock, res, ec);
    {
      std::lock_guard<std::mutex> lock(mu);
      ++stats.requests;
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    nlohmann::json log = {{"event", "request"}, {"id", r.id},          {"method", r.method},
                          {"path", r.target.substr(0, r.target.find('?'))}, {"status", reply.status},
                          {"ms", std::round(ms * 10) / 10},           {"bytes_in", r.body.size()}};
    for (const auto& [k, v] : reply.log) log[k] = v;
    log_line(log);
    if (ec || !res.keep_alive()) return;
  }
}

HttpServer::HttpServer(ServerOptions options, Handler handler, WebSocketHandlers websocket)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  impl_->websocket = std::move(websocket);
  const std::string where = impl_->options.host + ":" + std::to_string(impl_->options.port);
  beast::error_code ec;
  const auto addr = net::ip::make_address(impl_->options.host, ec);
  if (ec) throw Error("serve: --host " + impl_->options.host + " is not an IP address");
  const tcp::endpoint ep{addr, static_cast<unsigned short>(impl_->options.port)};
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw Error("serve: cannot listen on " + where + " (" + ec.message() + ")");
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::run() {
  Impl& m = *impl_;
  while (!m.stopping) {
    pollfd p{m.acceptor.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;  // woken every 200 ms to see stop()
    beast::error_code ec;
    tcp::socket sock(m.ioc);
    m.acceptor.accept(sock, ec);
    if (ec) continue;
    {
      std::lock_guard<std::mutex> lock(m.mu);
      if (m.stats.open_connections >= m.options.max_connections) {
        ++m.stats.rejected_connections;
        set_timeouts(sock, 1);
        http::write(sock, make_response(11, false, error_json(503, "Too many connections")), ec);
        continue;
      }
      ++m.stats.open_connections;
    }
    std::thread([&m, s = std::move(sock)]() mutable {
      m.session(std::move(s));
      std::lock_guard<std::mutex> lock(m.mu);
      --m.stats.open_connections;
      m.idle.notify_all();
    }).detach();
  }
  beast::error_code ec;
  m.acceptor.close(ec);
  // Requests in flight finish (their connections close after the reply); idle keep-alive
  // connections end at their read timeout.
  std::unique_lock<std::mutex> lock(m.mu);
  m.idle.wait_for(lock, std::chrono::seconds(m.options.timeout_s + 5),
                  [&] { return m.stats.open_connections == 0; });
}

void HttpServer::stop() { impl_->stopping = true; }

ServerStats HttpServer::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

}  // namespace strata::nmt::serve
