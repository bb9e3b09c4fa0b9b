// The example HTTP service (examples/search_service) on a loopback port: concurrent clients get
// the library's answers, bad requests get a 4xx with a JSON error and never take it down, /stats
// counts what happened, and the executable serves a saved index and stops on SIGTERM.
#ifdef QTUNE_HAVE_SEARCH_SERVICE
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <numeric>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "qtune/param_file.hpp"
#include "qtune/qtune.hpp"
#include "search_service.hpp"
#include "test_data.hpp"

using namespace qtune;
using json = nlohmann::json;

namespace {

recommended_params sift_params() {
  recommended_params p;
  p.dim = 128;
  p.k = 10;
  p.config.kind = "hnsw";
  p.config.codec = "sq8";
  p.config.m = 16;
  p.config.ef_construction = 100;
  p.config.ef_search = 64;
  p.config.rerank = 3;
  p.config.threads = 2;
  return p;
}

json vector_json(const float* x, std::size_t dim) { return json(std::vector<float>(x, x + dim)); }

class service_test : public ::testing::Test {
 protected:
  void SetUp() override {
    QTUNE_REQUIRE_DATA_FILE(base_path, "sift10k/siftsmall_base.fvecs");
    read_options ro;
    ro.max_rows = 3000;
    base_ = read_vectors(base_path, ro);
    ro.max_rows = 40;
    queries_ = read_vectors(qtune::testing::data_dir() / "sift10k/siftsmall_query.fvecs", ro);
    params_ = sift_params();
    qtune_service::service_options opt;
    opt.port = 0;
    opt.threads = 6;
    opt.max_k = 100;
    opt.max_body_bytes = 64 * 1024;
    service_ = std::make_unique<qtune_service::search_service>(build_index(params_, base_.view()), params_, opt);
    port_ = service_->start();
    reference_ = &service_->index();  // the library's answers on the very index it serves
  }
  void TearDown() override {
    if (service_) service_->stop();
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    c.set_tcp_nodelay(true);
    return c;
  }

  /// POSTs body to /search; returns (status, parsed JSON body).
  std::pair<int, json> post(const std::string& body) const {
    auto c = client();
    auto res = c.Post("/search", body, "application/json");
    if (!res) return {-1, json()};
    json j = json::parse(res->body, nullptr, false);
    return {res->status, j};
  }

  vectors base_, queries_;
  recommended_params params_;
  const qtune::index* reference_ = nullptr;
  std::unique_ptr<qtune_service::search_service> service_;
  int port_ = 0;
};

TEST_F(service_test, concurrent_clients_get_the_librarys_answers) {
  constexpr int n_clients = 6, rounds = 3;
  std::vector<int> mismatches(n_clients, 0), failures(n_clients, 0), sent(n_clients, 0);
  std::vector<std::thread> clients;
  for (int t = 0; t < n_clients; ++t) {
    clients.emplace_back([&, t] {
      auto c = client();
      c.set_keep_alive(true);
      std::vector<std::int32_t> ids(20);
      std::vector<float> d(20);
      for (int r = 0; r < rounds; ++r)
        for (std::size_t q = t; q < queries_.rows(); q += 2) {
          const std::size_t k = 5 + (q + r) % 16;           // k in [5, 20]
          const std::size_t ef = r == 0 ? 0 : 20 + 40 * r;  // 0 = the parameter file's
          json req{{"vector", vector_json(queries_.row(q), 128)}, {"k", k}};
          if (ef) req["ef"] = ef;
          auto res = c.Post("/search", req.dump(), "application/json");
          ++sent[t];
          if (!res || res->status != 200) {
            ++failures[t];
            continue;
          }
          const json body = json::parse(res->body);
          const std::size_t found = search_into(*reference_, queries_.row(q), k, ef, ids.data(), d.data());
          const auto got_ids = body.at("ids").get<std::vector<std::int32_t>>();
          const auto got_d = body.at("distances").get<std::vector<float>>();
          mismatches[t] += got_ids != std::vector<std::int32_t>(ids.begin(), ids.begin() + found) ||
                           got_d != std::vector<float>(d.begin(), d.begin() + found);
        }
    });
  }
  for (auto& c : clients) c.join();
  for (int t = 0; t < n_clients; ++t) {
    EXPECT_EQ(failures[t], 0) << "client " << t;
    EXPECT_EQ(mismatches[t], 0) << "client " << t;
  }
  const auto s = service_->stats();
  EXPECT_EQ(s.queries_served, static_cast<std::size_t>(std::accumulate(sent.begin(), sent.end(), 0)));
  EXPECT_GE(s.queries_served, static_cast<std::size_t>(rounds) * queries_.rows());
  EXPECT_EQ(s.errors_4xx, 0u);
  EXPECT_GT(s.p99_us, 0.0);
  EXPECT_LE(s.p50_us, s.p99_us);

  // default k comes from the parameter file
  auto [status, body] = post(json{{"vector", vector_json(queries_.row(0), 128)}}.dump());
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.at("ids").size(), params_.k);
}

TEST_F(service_test, health_and_stats) {
  auto c = client();
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const json h = json::parse(health->body);
  EXPECT_EQ(h.at("status"), "ok");
  EXPECT_EQ(h.at("count"), 3000);
  EXPECT_EQ(h.at("dim"), 128);

  for (std::size_t q = 0; q < 5; ++q) post(json{{"vector", vector_json(queries_.row(q), 128)}, {"k", 3}}.dump());
  post("{");
  auto stats = c.Get("/stats");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->status, 200);
  EXPECT_EQ(stats->get_header_value("Content-Type"), "application/json");
  const json st = json::parse(stats->body);
  EXPECT_EQ(st.at("params").at("codec"), "sq8");
  EXPECT_EQ(st.at("params").at("rerank"), 3);
  EXPECT_EQ(st.at("params").at("metric"), "l2");
  EXPECT_EQ(st.at("index").at("count"), 3000);
  EXPECT_EQ(st.at("index").at("memory").at("total_bytes").get<std::size_t>(), reference_->memory().total());
  EXPECT_EQ(st.at("queries_served"), 5);
  EXPECT_EQ(st.at("errors_4xx"), 1);
  EXPECT_EQ(st.at("latency_us").at("window"), 5);
  EXPECT_GT(st.at("latency_us").at("p99").get<double>(), 0.0);
}

TEST_F(service_test, bad_requests_get_a_4xx_json_error_and_the_service_survives) {
  const json good = vector_json(queries_.row(0), 128);
  json nan_string = good;
  nan_string[3] = "NaN";
  json null_value = good;
  null_value[5] = nullptr;
  // a JSON vector text whose first value is `first` and the rest 0
  auto vector_text = [](const std::string& first) {
    std::string t = "{\"vector\": [" + first;
    for (int j = 1; j < 128; ++j) t += ",0";
    return t + "]}";
  };
  const std::string huge_float = vector_text("1e39");  // a finite double, not a float
  const std::string nan_literal = vector_text("NaN");  // not JSON
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "malformed JSON"},
      {"{\"vector\": [1, 2,", "malformed JSON"},
      {"[1, 2, 3]", "JSON object"},
      {std::string(30000, '[') + std::string(30000, ']'), "JSON object"},  // deep nesting, valid
      {std::string(60000, '['), "malformed JSON"},                          // deep nesting, cut off
      {"{\"k\": 10}", "'vector' must be an array"},
      {json{{"vector", "abc"}}.dump(), "'vector' must be an array"},
      {json{{"vector", std::vector<float>(127, 1.f)}}.dump(), "has 127 values, the index has dimension 128"},
      {json{{"vector", std::vector<float>(129, 1.f)}}.dump(), "has 129 values"},
      {json{{"vector", nan_string}}.dump(), "'vector'[3] is not a number"},
      {json{{"vector", null_value}}.dump(), "'vector'[5] is not a number"},
      {nan_literal, "malformed JSON"},
      {huge_float, "'vector'[0] is not a finite float"},
      {json{{"vector", good}, {"k", 0}}.dump(), "'k' must be in [1, 100]"},
      {json{{"vector", good}, {"k", -3}}.dump(), "'k' must be in [1, 100]"},
      {json{{"vector", good}, {"k", 101}}.dump(), "'k' must be in [1, 100]"},
      {json{{"vector", good}, {"k", 2.5}}.dump(), "'k' must be an integer"},
      {json{{"vector", good}, {"k", "10"}}.dump(), "'k' must be an integer"},
      {json{{"vector", good}, {"k", true}}.dump(), "'k' must be an integer"},
      {json{{"vector", good}, {"ef", 0}}.dump(), "'ef' must be in [1,"},
      {json{{"vector", good}, {"K", 5}}.dump(), "unknown key 'K'"},
  };
  for (const auto& [body, expected] : cases) {
    SCOPED_TRACE(body.substr(0, 80));
    auto [status, j] = post(body);
    EXPECT_EQ(status, 400);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << j.dump();
    EXPECT_NE(j.at("error").get<std::string>().find(expected), std::string::npos) << j.at("error");
  }
  // a body over the limit (64 KiB here)
  {
    std::string big = json{{"vector", std::vector<double>(20000, 0.123456789)}}.dump();
    ASSERT_GT(big.size(), 64u * 1024);
    auto [status, j] = post(big);
    EXPECT_EQ(status, 413);
    ASSERT_TRUE(j.is_object() && j.contains("error"));
    EXPECT_NE(j.at("error").get<std::string>().find("exceeds 65536 bytes"), std::string::npos);
  }
  // unknown endpoint / method
  auto c = client();
  auto res = c.Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_TRUE(json::parse(res->body).contains("error"));
  res = c.Get("/search");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);

  // still serving, correctly
  auto [status, j] = post(json{{"vector", good}, {"k", 4}}.dump());
  EXPECT_EQ(status, 200);
  std::vector<std::int32_t> ids(4);
  std::vector<float> d(4);
  search_into(*reference_, queries_.row(0), 4, 0, ids.data(), d.data());
  EXPECT_EQ(j.at("ids").get<std::vector<std::int32_t>>(), ids);
  const auto s = service_->stats();
  EXPECT_EQ(s.queries_served, 1u);
  EXPECT_EQ(s.errors_4xx, cases.size() + 3);
  EXPECT_EQ(s.errors_5xx, 0u);
}

TEST_F(service_test, the_executable_serves_a_saved_index_and_stops_on_sigterm) {
  const auto dir = std::filesystem::temp_directory_path() / ("qtune-svc-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto params_path = dir / "recommended.yaml";
  const auto index_path = dir / "index.qidx";
  write_param_file(params_path, params_);
  reference_->save(index_path);

  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const std::string binary = QTUNE_SEARCH_SERVICE_BINARY;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(binary.c_str(), binary.c_str(), "--params", params_path.c_str(), "--index", index_path.c_str(), "--port",
            "0", "--threads", "2", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  FILE* child_out = ::fdopen(out[0], "r");
  char line[256] = {};
  const bool got_line = std::fgets(line, sizeof line, child_out) != nullptr;
  int port = 0;
  if (got_line) std::sscanf(line, "listening on http://127.0.0.1:%d", &port);
  EXPECT_GT(port, 0) << line;
  if (port > 0) {
    httplib::Client c("127.0.0.1", port);
    for (std::size_t q = 0; q < 5; ++q) {
      auto res = c.Post("/search", json{{"vector", vector_json(queries_.row(q), 128)}, {"k", 10}}.dump(),
                        "application/json");
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200);
      std::vector<std::int32_t> ids(10);
      std::vector<float> d(10);
      search_into(*reference_, queries_.row(q), 10, 0, ids.data(), d.data());
      EXPECT_EQ(json::parse(res->body).at("ids").get<std::vector<std::int32_t>>(), ids);
    }
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::fclose(child_out);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;

  // a parameter file that does not match the saved index: a clear error, exit code 1
  recommended_params other = params_;
  other.config.codec = "fp16";
  write_param_file(params_path, other);
  const std::string cmd = binary + " --params " + params_path.string() + " --index " + index_path.string() +
                          " --port 0 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string text;
  while (std::fgets(line, sizeof line, p)) text += line;
  const int rc = ::pclose(p);
  EXPECT_EQ(WEXITSTATUS(rc), 1);
  EXPECT_NE(text.find("codec 'sq8' does not match the parameter file's 'fp16'"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

}  // namespace
#endif  // QTUNE_HAVE_SEARCH_SERVICE
