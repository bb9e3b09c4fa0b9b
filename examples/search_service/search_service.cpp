#include "search_service.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

namespace qtune_service {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

using bad_request = request_error;

/// JSON text of `body`; invalid UTF-8 in strings (a parse error quoting the client's bytes) is
/// replaced rather than thrown as type_error 316, which became an HTTP 500.
std::string dump(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_json(message), "application/json");
}

/// An integer field in [1, limit], or `fallback` when absent.
std::size_t positive_int(const json& body, const char* key, std::size_t fallback, std::size_t limit) {
  const auto it = body.find(key);
  if (it == body.end()) return fallback;
  if (!it->is_number_integer())
    throw bad_request{400, std::string("'") + key + "' must be an integer, got " + dump(*it)};
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v >= 1 && v <= limit) return static_cast<std::size_t>(v);
  }
  throw bad_request{400, std::string("'") + key + "' must be in [1, " + std::to_string(limit) + "], got " +
                             dump(*it)};
}

}  // namespace

std::string error_json(const std::string& message) { return dump(json{{"error", message}}); }

search_request parse_search_request(std::string_view text, std::size_t dim, std::size_t default_k,
                                    const service_options& limits) {
  json body;
  try {
    body = json::parse(text);
  } catch (const json::exception& e) {
    throw bad_request{400, std::string("malformed JSON: ") + e.what()};
  }
  if (!body.is_object()) throw bad_request{400, "the body must be a JSON object {\"vector\": [...], \"k\": n}"};
  for (const auto& item : body.items()) {
    if (item.key() != "vector" && item.key() != "k" && item.key() != "ef")
      throw bad_request{400, "unknown key '" + item.key() + "' (expected vector, k, ef)"};
  }
  const auto v = body.find("vector");
  if (v == body.end() || !v->is_array()) throw bad_request{400, "'vector' must be an array of numbers"};
  if (v->size() != dim)
    throw bad_request{400, "'vector' has " + std::to_string(v->size()) + " values, the index has dimension " +
                               std::to_string(dim)};
  search_request r;
  r.vector.resize(dim);
  for (std::size_t j = 0; j < dim; ++j) {
    const json& x = (*v)[j];
    if (!x.is_number()) throw bad_request{400, "'vector'[" + std::to_string(j) + "] is not a number: " + dump(x)};
    const double d = x.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > qtune::max_abs_value)
      throw bad_request{400, "'vector'[" + std::to_string(j) + "] is not a finite float in [-1e15, 1e15]: " + dump(x)};
    r.vector[j] = static_cast<float>(d);
  }
  r.k = positive_int(body, "k", default_k, limits.max_k);
  r.ef = positive_int(body, "ef", 0, limits.max_ef);
  return r;
}

struct search_service::impl {
  std::unique_ptr<qtune::index> index;
  qtune::recommended_params params;
  service_options options;
  httplib::Server server;
  std::thread thread;
  int port = -1;
  clock_type::time_point started = clock_type::now();

  std::atomic<std::size_t> served{0}, errors_4xx{0}, errors_5xx{0};
  mutable std::mutex latency_mutex;
  std::vector<float> latencies_us;  // ring buffer of the last options.latency_window searches
  std::size_t latency_next = 0;

  void record_latency(double us) {
    std::lock_guard<std::mutex> lock(latency_mutex);
    if (latencies_us.size() < options.latency_window) {
      latencies_us.push_back(static_cast<float>(us));
    } else {
      latencies_us[latency_next] = static_cast<float>(us);
      latency_next = (latency_next + 1) % options.latency_window;
    }
  }

  /// POST /search: parse and check everything, then search; no exception escapes.
  void handle_search(const httplib::Request& req, httplib::Response& res) {
    const auto t0 = clock_type::now();
    const std::size_t dim = index->dim();
    try {
      const search_request r = parse_search_request(req.body, dim, params.k, options);
      const std::size_t k = r.k;
      std::vector<std::int32_t> ids(k);
      std::vector<float> distances(k);
      std::size_t found = 0;
      try {
        found = qtune::search_into(*index, r.vector.data(), k, r.ef, ids.data(), distances.data());
      } catch (const qtune::error& e) {
        throw bad_request{400, e.what()};  // e.g. a zero vector under cosine
      }
      ids.resize(found);
      distances.resize(found);
      send_json(res, 200, json{{"ids", ids}, {"distances", distances}});
      served.fetch_add(1, std::memory_order_relaxed);
      record_latency(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    } catch (const bad_request& e) {
      send_error(res, e.status, e.message);
    }
  }

  json stats_document() const {
    const service_stats s = compute_stats();
    const qtune::index_config& c = index->config();
    const qtune::index_memory mem = index->memory();
    return json{
        {"params",
         {{"kind", c.kind},
          {"codec", c.codec},
          {"m", c.m},
          {"ef_construction", c.ef_construction},
          {"ef_search", c.ef_search},
          {"rerank", c.rerank},
          {"metric", qtune::to_string(c.distance)},
          {"dim", index->dim()},
          {"k", params.k},
          {"target_recall", params.target_recall},
          {"measured_recall", params.measured.validation_recall_ids.value}}},
        {"index",
         {{"count", index->size()},
          {"memory",
           {{"resident_bytes", mem.resident_bytes}, {"rerank_bytes", mem.rerank_bytes}, {"total_bytes", mem.total()}}}}},
        {"queries_served", s.queries_served},
        {"errors_4xx", s.errors_4xx},
        {"errors_5xx", s.errors_5xx},
        {"latency_us", {{"window", s.window}, {"p50", s.p50_us}, {"p90", s.p90_us}, {"p99", s.p99_us}, {"max", s.max_us}}},
        {"http_threads", options.threads},
        {"limits", {{"max_k", options.max_k}, {"max_ef", options.max_ef}, {"max_body_bytes", options.max_body_bytes}}},
        {"uptime_s", std::chrono::duration<double>(clock_type::now() - started).count()},
        {"qtune_version", qtune::version_string}};
  }

  service_stats compute_stats() const {
    service_stats s;
    s.queries_served = served.load();
    s.errors_4xx = errors_4xx.load();
    s.errors_5xx = errors_5xx.load();
    std::vector<float> lat;
    {
      std::lock_guard<std::mutex> lock(latency_mutex);
      lat = latencies_us;
    }
    s.window = lat.size();
    if (lat.empty()) return s;
    std::sort(lat.begin(), lat.end());
    // nearest-rank percentile
    auto pct = [&](double p) {
      const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(lat.size())));
      return static_cast<double>(lat[std::clamp<std::size_t>(rank, 1, lat.size()) - 1]);
    };
    s.p50_us = pct(50);
    s.p90_us = pct(90);
    s.p99_us = pct(99);
    s.max_us = lat.back();
    return s;
  }

  void setup() {
    const std::size_t threads = std::max<std::size_t>(1, options.threads);
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server.set_payload_max_length(options.max_body_bytes);
    server.set_read_timeout(std::chrono::milliseconds(options.read_timeout_ms));
    server.set_keep_alive_max_count(1000);
    server.set_keep_alive_timeout(2);
    server.set_tcp_nodelay(true);  // replies are small: without it, Nagle + delayed ACK add ~40 ms
    server.Post("/search", [this](const httplib::Request& req, httplib::Response& res) { handle_search(req, res); });
    server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, json{{"status", "ok"}, {"count", index->size()}, {"dim", index->dim()}});
    });
    server.Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, stats_document());
    });
    // Runs for every response with status >= 400 (ours and httplib's own, e.g. 413, 404):
    // count it, and give httplib's an explanatory JSON body.
    server.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (res.status >= 500)
        errors_5xx.fetch_add(1, std::memory_order_relaxed);
      else
        errors_4xx.fetch_add(1, std::memory_order_relaxed);
      if (!res.body.empty()) return;
      std::string message;
      if (res.status == 413 && req.get_header_value("Content-Type").find("x-www-form-urlencoded") != std::string::npos)
        message = "form-urlencoded bodies are limited to 8192 bytes by cpp-httplib; send Content-Type: application/json";
      else if (res.status == 413)
        message = "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes";
      else if (res.status == 404)
        message = "no such endpoint: " + req.method + " " + req.path + " (POST /search, GET /health, GET /stats)";
      else
        message = "HTTP " + std::to_string(res.status);
      send_error(res, res.status, message);
    });
    server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string message = "internal error";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        message = std::string("internal error: ") + e.what();
      } catch (...) {
      }
      send_error(res, 500, message);
    });
  }
};

search_service::search_service(std::unique_ptr<qtune::index> index, qtune::recommended_params params,
                               service_options options)
    : impl_(std::make_unique<impl>()) {
  QTUNE_CHECK(index != nullptr, "search service: no index");
  QTUNE_CHECK(index->size() > 0, "search service: the index is empty");
  QTUNE_CHECK(index->dim() == params.dim, "search service: the index has dim ", index->dim(),
              ", the parameter file says ", params.dim);
  QTUNE_CHECK(options.max_k >= 1 && options.threads >= 1 && options.max_body_bytes >= 64 &&
                  options.latency_window >= 1,
              "search service: max_k, threads and latency_window must be >= 1, max_body_bytes >= 64");
  impl_->index = std::move(index);
  impl_->params = std::move(params);
  impl_->options = std::move(options);
  impl_->latencies_us.reserve(std::min<std::size_t>(impl_->options.latency_window, 1u << 16));
  impl_->setup();
}

search_service::~search_service() { stop(); }

int search_service::bind() {
  impl& m = *impl_;
  if (m.options.port == 0) {
    m.port = m.server.bind_to_any_port(m.options.host);
    QTUNE_CHECK(m.port > 0, "search service: cannot bind to ", m.options.host, " (any port)");
  } else {
    QTUNE_CHECK(m.server.bind_to_port(m.options.host, m.options.port), "search service: cannot bind to ",
                m.options.host, ":", m.options.port, " (in use?)");
    m.port = m.options.port;
  }
  return m.port;
}

void search_service::serve() { impl_->server.listen_after_bind(); }

int search_service::start() {
  const int port = bind();
  impl_->thread = std::thread([this] { serve(); });
  // listen_after_bind() sets is_running() just before its accept loop; connections made before
  // that are queued by the kernel anyway (the socket is already listening), so this only makes
  // stop() race-free.
  for (int i = 0; i < 10000 && !impl_->server.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!impl_->server.is_running()) {
    stop();
    qtune::fail("search service: the server did not start listening on port ", port);
  }
  return port;
}

void search_service::stop() {
  if (!impl_) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int search_service::bound_port() const { return impl_->port; }
service_stats search_service::stats() const { return impl_->compute_stats(); }
std::string search_service::stats_json() const { return impl_->stats_document().dump(2); }
const qtune::index& search_service::index() const { return *impl_->index; }

}  // namespace qtune_service
