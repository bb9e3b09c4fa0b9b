// A per-call efSearch on a faiss:HNSW index must take effect. Debian's FAISS 1.7.3 ignores
// SearchParametersHNSW::efSearch in its search loop, so an adapter that only passes the
// parameters silently searches with the index's own setting.
#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "qtune/index.hpp"

namespace {

TEST(faiss_index, per_call_ef_search_equals_setting_it_on_the_index) {
  const std::size_t n = 4000, dim = 16, nq = 50, k = 10;
  std::mt19937 rng(5);
  std::normal_distribution<float> g;
  std::vector<float> x(n * dim), q(nq * dim);
  for (auto& v : x) v = g(rng);
  for (auto& v : q) v = g(rng);
  qtune::index_config cfg;
  cfg.kind = "faiss:HNSW8,Flat";
  cfg.ef_construction = 40;
  cfg.ef_search = 10;
  cfg.threads = 1;
  auto idx = qtune::make_index(cfg, dim);
  idx->build({x.data(), n, dim, dim});

  const auto run_all = [&](auto&& one) {
    std::vector<std::int32_t> ids(nq * k);
    std::vector<float> d(nq * k);
    for (std::size_t i = 0; i < nq; ++i) one(q.data() + i * dim, ids.data() + i * k, d.data() + i * k);
    return ids;
  };
  const auto small = run_all([&](const float* v, std::int32_t* ids, float* d) { idx->search(v, k, ids, d); });
  const auto per_call =
      run_all([&](const float* v, std::int32_t* ids, float* d) { idx->search_ef(v, k, 400, ids, d); });
  idx->set_ef_search(400);
  const auto on_index = run_all([&](const float* v, std::int32_t* ids, float* d) { idx->search(v, k, ids, d); });
  EXPECT_EQ(per_call, on_index);
  EXPECT_NE(small, on_index);  // ef 10 vs 400 on a weak graph: some neighbour differs

  // The index setting is unchanged by per-call searches, also when they run concurrently.
  idx->set_ef_search(10);
  std::vector<std::int32_t> a(nq * k), b(nq * k);
  std::thread t1([&] {
    std::vector<float> d(k);
    for (int rep = 0; rep < 20; ++rep)
      for (std::size_t i = 0; i < nq; ++i) idx->search_ef(q.data() + i * dim, k, 400, a.data() + i * k, d.data());
  });
  std::thread t2([&] {
    std::vector<float> d(k);
    for (int rep = 0; rep < 20; ++rep)
      for (std::size_t i = 0; i < nq; ++i) idx->search(q.data() + i * dim, k, b.data() + i * k, d.data());
  });
  t1.join();
  t2.join();
  EXPECT_EQ(a, on_index);
  EXPECT_EQ(b, small);
}

}  // namespace
