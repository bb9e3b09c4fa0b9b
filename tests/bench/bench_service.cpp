// Load benchmark of the example HTTP search service: sift10k (10,000 x 128) served in-process on
// a loopback port, a bounded number of POST /search requests from several keep-alive client
// threads. Reports QPS and client-side latency percentiles (and the server's own p99 from
// /stats) and checks every answer against the library on the same index.
//
//   bench_service [--requests 10000] [--clients 4] [--threads 4] [--k 10] [--params FILE]
//                 [--data DIR]   (default $QTUNE_DATA_DIR or <source>/../shared/data)
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "qtune/param_file.hpp"
#include "qtune/qtune.hpp"
#include "search_service.hpp"
#include "data_dir.hpp"

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t requests = 10000, clients = 4, threads = 4, k = 10;
  std::string params_path;
  std::filesystem::path data = qtune::testing::data_dir();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--requests") requests = std::stoul(v);
    else if (a == "--clients") clients = std::stoul(v);
    else if (a == "--threads") threads = std::stoul(v);
    else if (a == "--k") k = std::stoul(v);
    else if (a == "--params") params_path = v;
    else if (a == "--data") data = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    const qtune::vectors base = qtune::read_vectors(data / "sift10k" / "siftsmall_base.fvecs");
    const qtune::vectors queries = qtune::read_vectors(data / "sift10k" / "siftsmall_query.fvecs");
    qtune::recommended_params params;
    if (!params_path.empty()) {
      params = qtune::load_param_file(params_path);
    } else {
      params.dim = 128;
      params.k = k;
      params.config.codec = "sq8";
      params.config.m = 16;
      params.config.ef_construction = 100;
      params.config.ef_search = 64;
      params.config.rerank = 2;
    }
    const auto t_build = clock_type::now();
    auto index = qtune::build_index(params, base.view());
    const double build_s = std::chrono::duration<double>(clock_type::now() - t_build).count();

    // expected answers and request bodies, per query
    std::vector<std::string> bodies(queries.rows());
    std::vector<std::vector<std::int32_t>> expected(queries.rows());
    for (std::size_t q = 0; q < queries.rows(); ++q) {
      bodies[q] = json{{"vector", std::vector<float>(queries.row(q), queries.row(q) + 128)}, {"k", k}}.dump();
      std::vector<std::int32_t> ids(k);
      std::vector<float> d(k);
      ids.resize(qtune::search_into(*index, queries.row(q), k, 0, ids.data(), d.data()));
      expected[q] = ids;
    }

    qtune_service::service_options opt;
    opt.port = 0;
    opt.threads = std::max(threads, clients);  // one worker per keep-alive connection at least
    qtune_service::search_service service(std::move(index), params, opt);
    const int port = service.start();

    std::atomic<std::size_t> next{0}, failures{0}, wrong{0};
    std::vector<std::vector<double>> latencies(clients);
    const auto t0 = clock_type::now();
    std::vector<std::thread> pool;
    for (std::size_t c = 0; c < clients; ++c) {
      pool.emplace_back([&, c] {
        httplib::Client client("127.0.0.1", port);
        client.set_keep_alive(true);
        client.set_tcp_nodelay(true);
        for (;;) {
          const std::size_t i = next.fetch_add(1);
          if (i >= requests) break;
          const std::size_t q = i % bodies.size();
          const auto s = clock_type::now();
          auto res = client.Post("/search", bodies[q], "application/json");
          latencies[c].push_back(std::chrono::duration<double, std::micro>(clock_type::now() - s).count());
          if (!res || res->status != 200) {
            ++failures;
            continue;
          }
          if (json::parse(res->body).at("ids").get<std::vector<std::int32_t>>() != expected[q]) ++wrong;
        }
      });
    }
    for (auto& t : pool) t.join();
    const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
    const qtune_service::service_stats server = service.stats();
    service.stop();

    std::vector<double> all;
    for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    std::printf("bench_service: sift10k %zu x %zu, %s %s M=%zu efC=%zu ef=%zu rerank=%zu, built in %.2f s\n",
                base.rows(), base.dim(), params.config.kind.c_str(), params.config.codec.c_str(), params.config.m,
                params.config.ef_construction, params.config.ef_search, params.config.rerank, build_s);
    std::printf("  %zu requests (k=%zu) from %zu client threads, %zu HTTP workers, %u cores\n", requests, k, clients,
                opt.threads, std::thread::hardware_concurrency());
    std::printf("  QPS %.0f   client latency us: p50 %.0f  p90 %.0f  p99 %.0f  max %.0f\n", requests / wall,
                percentile(all, 50), percentile(all, 90), percentile(all, 99), all.back());
    std::printf("  server-side (parse + search + reply) us: p50 %.0f  p99 %.0f\n", server.p50_us, server.p99_us);
    std::printf("  failures %zu, answers differing from the library %zu\n", failures.load(), wrong.load());
    return failures.load() == 0 && wrong.load() == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_service: %s\n", e.what());
    return 1;
  }
}
