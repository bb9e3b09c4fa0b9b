#pragma once
// An HTTP JSON search service over one qtune index (the example of qtune inside a service).
//
//   POST /search  {"vector": [dim floats], "k": 10, "ef": 64}   ("k", "ef" optional)
//                 -> 200 {"ids": [...], "distances": [...]}     (nearest first, at most k)
//   GET  /health  -> 200 {"status": "ok", "count": n, "dim": d}
//   GET  /stats   -> 200 {"params": {...}, "index": {"count", "memory": {...}},
//                         "queries_served", "errors_4xx", "latency_us": {p50, p90, p99, max}, ...}
//
// Bad requests (malformed JSON, a missing or non-numeric vector, a wrong dimension, a value that
// is not a finite float, k or ef not an integer in [1, limit], unknown keys, a body over the
// size limit, an unknown path) get a 4xx and {"error": "..."}; nothing a client sends can crash
// it. Requests are served on a fixed pool of HTTP worker threads; searches run concurrently
// (qtune indexes are safe for concurrent searches). No third-party header appears here.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "qtune/param_file.hpp"
#include "qtune/qtune.hpp"

namespace qtune_service {

struct service_options {
  std::string host = "127.0.0.1";
  int port = 8080;                        ///< 0 = any free port (see bound_port())
  std::size_t threads = 8;                ///< HTTP worker threads; each serves one connection at a time
  std::size_t max_k = 1000;               ///< larger k is a 400
  std::size_t max_ef = 100000;            ///< larger ef is a 400
  std::size_t max_body_bytes = 1u << 20;  ///< larger bodies are a 413
  std::size_t latency_window = 1u << 16;  ///< /stats percentiles are over the last this-many searches
  /// A connection that sends nothing for this long while a request is being read (a half-sent
  /// header or body) gets a 408 (or is closed when no request line arrived) and frees its worker.
  std::size_t read_timeout_ms = 5000;
};

/// A POST /search body the client got wrong: HTTP `status` (4xx) and the message for {"error": ...}.
struct request_error {
  int status = 400;
  std::string message;
};

/// A checked POST /search body.
struct search_request {
  std::vector<float> vector;  ///< dim finite floats
  std::size_t k = 0;          ///< in [1, max_k]
  std::size_t ef = 0;         ///< 0 = the index setting, else in [1, max_ef]
};

/// Parses and checks a POST /search body (any bytes: malformed JSON or UTF-8, wrong shapes and
/// out-of-range values throw request_error; nothing else escapes except std::bad_alloc).
/// `default_k` is used when the body has no "k".
search_request parse_search_request(std::string_view body, std::size_t dim, std::size_t default_k,
                                    const service_options& limits);
/// {"error": message} as JSON text; bytes of `message` that are not valid UTF-8 (it may quote the
/// client's body) are replaced by U+FFFD, so building the reply cannot fail.
std::string error_json(const std::string& message);

/// Latency percentiles and counters, as /stats reports them.
struct service_stats {
  std::size_t queries_served = 0;   ///< successful searches
  std::size_t errors_4xx = 0;
  std::size_t errors_5xx = 0;
  std::size_t window = 0;           ///< searches the percentiles are over
  double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0;
};

class search_service {
 public:
  /// Takes ownership of a built or loaded index; params describe it (dim, default k, config).
  search_service(std::unique_ptr<qtune::index> index, qtune::recommended_params params, service_options options);
  ~search_service();  ///< stops the server if running
  search_service(const search_service&) = delete;
  search_service& operator=(const search_service&) = delete;

  /// Binds the listening socket (throws qtune::error when it cannot) and returns the port.
  int bind();
  /// Serves until stop(); call after bind(). Blocks the calling thread.
  void serve();
  /// bind() + serve() on a background thread; returns once it accepts connections.
  int start();
  /// Stops serving (safe from any thread, including a signal-watching one) and joins start()'s thread.
  void stop();
  int bound_port() const;

  service_stats stats() const;
  /// The /stats document as JSON text.
  std::string stats_json() const;
  const qtune::index& index() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace qtune_service
