// The example service under abuse (issue 14.8): oversized bodies, slow and half-sent requests,
// invalid UTF-8, deeply nested JSON, k = 0 and k = 10^9, a wrong dimension and NaN in a query.
// Each gets a 4xx with a JSON error within a bounded time, and valid requests keep being answered
// while the abuse goes on.
#ifdef QTUNE_HAVE_SEARCH_SERVICE
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "qtune/qtune.hpp"
#include "search_service.hpp"

using namespace qtune;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t dim = 16;

/// A raw TCP connection, to send requests that httplib's client cannot (partial, slow, bad bytes).
class raw_conn {
 public:
  explicit raw_conn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(std::uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~raw_conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  void send(const std::string& s) const {
    std::size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += std::size_t(n);
    }
  }
  /// Everything the server sends until it closes or `limit` passes.
  std::string read_all(std::chrono::milliseconds limit) const {
    std::string out;
    const auto end = steady::now() + limit;
    char buf[4096];
    while (steady::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      const int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(end - steady::now()).count());
      if (::poll(&p, 1, std::max(left, 1)) <= 0) break;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, std::size_t(n));
      // one response is enough: stop once its body (Content-Length) is complete
      const auto h = out.find("\r\n\r\n");
      const auto cl = out.find("Content-Length: ");
      if (h != std::string::npos && cl != std::string::npos && cl < h &&
          out.size() >= h + 4 + std::stoul(out.substr(cl + 16)))
        break;
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0) return -1;
  return std::stoi(response.substr(9, 3));
}

json body_of(const std::string& response) {
  const auto h = response.find("\r\n\r\n");
  if (h == std::string::npos) return json();
  return json::parse(response.substr(h + 4), nullptr, false);
}

std::string post_request(const std::string& body, std::size_t content_length = std::string::npos) {
  if (content_length == std::string::npos) content_length = body.size();
  return "POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(content_length) + "\r\nConnection: close\r\n\r\n" + body;
}

class service_abuse : public ::testing::Test {
 protected:
  void SetUp() override {
    base_.resize(500 * dim);
    for (std::size_t i = 0; i < base_.size(); ++i) base_[i] = float((i * 7919) % 1000) / 100.f;
    params_.dim = dim;
    params_.k = 5;
    params_.config.codec = "sq8";
    params_.config.m = 8;
    params_.config.ef_construction = 50;
    params_.config.threads = 2;
    qtune_service::service_options opt;
    opt.port = 0;
    opt.threads = 8;
    opt.max_k = 100;
    opt.max_body_bytes = 16 * 1024;
    opt.read_timeout_ms = 500;
    service_ = std::make_unique<qtune_service::search_service>(
        build_index(params_, {base_.data(), 500, dim, dim}), params_, opt);
    port_ = service_->start();
  }
  void TearDown() override { service_->stop(); }

  std::string valid_body(std::size_t row = 0) const {
    return json{{"vector", std::vector<float>(base_.begin() + std::ptrdiff_t(row * dim),
                                              base_.begin() + std::ptrdiff_t((row + 1) * dim))},
                {"k", 3}}
        .dump();
  }

  std::vector<float> base_;
  recommended_params params_;
  std::unique_ptr<qtune_service::search_service> service_;
  int port_ = 0;
};

TEST_F(service_abuse, every_abuse_gets_a_4xx_json_error_in_bounded_time_and_valid_requests_keep_working) {
  // Valid requests run on their own connections all the time the abuse goes on.
  std::atomic<bool> stop{false};
  std::atomic<int> valid_ok{0}, valid_failed{0};
  std::thread valid([&] {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(5, 0);
    std::size_t row = 0;
    while (!stop) {
      auto res = c.Post("/search", valid_body(row++ % 500), "application/json");
      if (res && res->status == 200 && json::parse(res->body).at("ids").size() == 3) ++valid_ok;
      else ++valid_failed;
    }
  });

  std::string vec = "[1";
  for (std::size_t j = 1; j < dim; ++j) vec += ",0";
  vec += "]";
  const std::string nested = std::string(100000, '[') + std::string(100000, ']');
  struct abuse {
    std::string name;
    std::string request;   // bytes sent at once
    int expected_status;
    std::string expected_error;
  };
  const std::vector<abuse> cases = {
      {"oversized body", post_request(std::string(20000, ' ') + valid_body(), 20000 + valid_body().size()), 413,
       "exceeds 16384 bytes"},
      {"invalid UTF-8 in a string", post_request("{\"vector\": \"\xff\xfe\xc3\x28\"}"), 400, "malformed JSON"},
      {"invalid UTF-8 as a key", post_request("{\"\xc3\x28\": 1}"), 400, "malformed JSON"},
      {"deeply nested JSON", post_request(nested, nested.size()), 413, "exceeds"},
      {"deeply nested JSON under the limit", post_request(std::string(8000, '[') + std::string(8000, ']'), 16000),
       400, "JSON object"},
      {"k = 0", post_request("{\"vector\": " + vec + ", \"k\": 0}", vec.size() + 20), 400, "'k' must be in [1, 100]"},
      {"k = 10^9", post_request("{\"vector\": " + vec + ", \"k\": 1000000000}", vec.size() + 29), 400,
       "'k' must be in [1, 100]"},
      {"wrong dimension", post_request("{\"vector\": [1, 2, 3]}", 21), 400, "has 3 values, the index has dimension 16"},
      {"NaN in a query", post_request("{\"vector\": [NaN" + vec.substr(2) + "}", vec.size() + 14), 400,
       "malformed JSON"},
      {"1e39 in a query", post_request("{\"vector\": [1e39" + vec.substr(2) + "}", vec.size() + 15), 400,
       "not a finite float"},
  };
  for (const auto& a : cases) {
    SCOPED_TRACE(a.name);
    raw_conn c(port_);
    ASSERT_TRUE(c.ok());
    const auto t0 = steady::now();
    c.send(a.request);
    const std::string res = c.read_all(std::chrono::milliseconds(5000));
    const double seconds = std::chrono::duration<double>(steady::now() - t0).count();
    EXPECT_EQ(status_of(res), a.expected_status) << res.substr(0, 300);
    const json j = body_of(res);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << res.substr(0, 300);
    EXPECT_NE(j.at("error").get<std::string>().find(a.expected_error), std::string::npos) << j.dump();
    EXPECT_LT(seconds, 2.0);
  }

  // Half-sent requests: a body shorter than its Content-Length, and a header that never ends.
  // The read timeout (500 ms) frees the worker: 408 with a JSON error (or a close when no request
  // line arrived), never a worker held for good.
  {
    raw_conn c(port_);
    const auto t0 = steady::now();
    c.send(post_request("{\"vector\": [1, 2", 1000));
    const std::string res = c.read_all(std::chrono::milliseconds(5000));
    const double seconds = std::chrono::duration<double>(steady::now() - t0).count();
    EXPECT_GE(status_of(res), 400) << res;
    EXPECT_LT(status_of(res), 500) << res;
    EXPECT_TRUE(body_of(res).contains("error")) << res;
    EXPECT_LT(seconds, 3.0);
  }
  {
    // Slow clients, more of them than the service has workers: each stalls mid-header.
    std::vector<std::unique_ptr<raw_conn>> slow;
    for (int i = 0; i < 12; ++i) {
      slow.push_back(std::make_unique<raw_conn>(port_));
      slow.back()->send("POST /search HTTP/1.1\r\nHost: x\r\nContent-");
    }
    const auto t0 = steady::now();
    for (auto& c : slow) {
      const std::string res = c->read_all(std::chrono::milliseconds(5000));
      if (!res.empty()) EXPECT_GE(status_of(res), 400) << res;
    }
    EXPECT_LT(std::chrono::duration<double>(steady::now() - t0).count(), 4.0);
  }

  // Still answering valid requests, correctly.
  httplib::Client c("127.0.0.1", port_);
  auto res = c.Post("/search", valid_body(7), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  std::int32_t ids[3];
  float d[3];
  search_into(service_->index(), base_.data() + 7 * dim, 3, 0, ids, d);
  EXPECT_EQ(json::parse(res->body).at("ids").get<std::vector<std::int32_t>>(), std::vector<std::int32_t>(ids, ids + 3));

  stop = true;
  valid.join();
  EXPECT_GT(valid_ok.load(), 0);
  EXPECT_EQ(valid_failed.load(), 0);
  EXPECT_EQ(service_->stats().errors_5xx, 0u);
}

// Issue 14: invalid UTF-8 in a body was an HTTP 500 (the error message quoting the bytes could not
// be serialised). The request parser and the error JSON must handle any bytes.
TEST(service_request, invalid_utf8_is_a_400_whose_error_json_is_valid) {
  qtune_service::service_options limits;
  for (const std::string body : {std::string("{\"vector\": \"\xff\xfe\"}"), std::string("{\"\xc3\x28\": 1}"),
                                 std::string("\xff\xff\xff"), std::string("{\"vector\": [1, \xe2\x82]}")}) {
    try {
      qtune_service::parse_search_request(body, 4, 10, limits);
      ADD_FAILURE() << "accepted";
    } catch (const qtune_service::request_error& e) {
      EXPECT_EQ(e.status, 400);
      const json j = json::parse(qtune_service::error_json(e.message));  // valid UTF-8 JSON
      EXPECT_NE(j.at("error").get<std::string>().find("malformed JSON"), std::string::npos);
    }
  }
}

}  // namespace
#endif  // QTUNE_HAVE_SEARCH_SERVICE
