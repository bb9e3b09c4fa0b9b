// Index adapters against brute force through the same interface, rerank, FAISS, save/load,
// concurrency and the memory formula. Small synthetic data keeps these fast.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <thread>

#include <unistd.h>
#include <vector>

#include "index/graph_layout.hpp"
#include "index/hnsw_index.hpp"
#include "qtune/codec.hpp"
#include "qtune/dataset.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/index.hpp"
#include "test_data.hpp"

using namespace qtune;

namespace {

/// Clustered Gaussian data: `clusters` centres in [-1, 1]^dim, points spread 0.3 around them.
std::vector<float> clustered(std::size_t n, std::size_t dim, std::uint32_t seed, std::size_t clusters = 20) {
  std::mt19937 rng(12345);  // same centres for base and queries
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> centres(clusters * dim);
  for (auto& c : centres) c = u(rng);
  std::mt19937 rng2(seed);
  std::normal_distribution<float> g(0.f, 0.3f);
  std::uniform_int_distribution<std::size_t> pick(0, clusters - 1);
  std::vector<float> x(n * dim);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = pick(rng2);
    for (std::size_t j = 0; j < dim; ++j) x[i * dim + j] = centres[c * dim + j] + g(rng2);
  }
  return x;
}

void normalize(std::vector<float>& x, std::size_t dim) {
  for (std::size_t i = 0; i < x.size() / dim; ++i) {
    double s = 0;
    for (std::size_t j = 0; j < dim; ++j) s += double(x[i * dim + j]) * x[i * dim + j];
    const float inv = 1.f / static_cast<float>(std::sqrt(s));
    for (std::size_t j = 0; j < dim; ++j) x[i * dim + j] *= inv;
  }
}

matrix_view<float> view(const std::vector<float>& x, std::size_t dim) {
  return {x.data(), x.size() / dim, dim, dim};
}

float exact_distance(const float* a, const float* b, std::size_t dim, metric m) {
  double s = 0;
  for (std::size_t j = 0; j < dim; ++j) s += compute_metric(m) == metric::l2 ? double(a[j] - b[j]) * (a[j] - b[j]) : double(a[j]) * b[j];
  return compute_metric(m) == metric::l2 ? static_cast<float>(s) : static_cast<float>(1.0 - s);
}

struct fixture_data {
  static constexpr std::size_t n = 2000, dim = 32, nq = 50, k = 10;
  std::vector<float> base = clustered(n, dim, 1);
  std::vector<float> queries = clustered(nq, dim, 2);
};

const fixture_data& data() {
  static const fixture_data d;
  return d;
}

knn_result run_search(const qtune::index& idx, const std::vector<float>& queries, std::size_t dim, std::size_t k) {
  knn_result r;
  r.nq = queries.size() / dim;
  r.k = k;
  r.ids.resize(r.nq * k);
  r.distances.resize(r.nq * k);
  for (std::size_t q = 0; q < r.nq; ++q) idx.search(queries.data() + q * dim, k, r.ids.data() + q * k, r.distances.data() + q * k);
  return r;
}

/// Brute force with the codec's asymmetric distance over its codes (what the graph approximates).
knn_result codec_brute_force(const codec& c, const std::vector<float>& base, const std::vector<float>& queries,
                             std::size_t k) {
  const std::size_t dim = c.dim(), n = base.size() / dim, nq = queries.size() / dim;
  std::vector<std::uint8_t> codes(n * c.code_size());
  c.encode(n, base.data(), codes.data());
  std::vector<std::uint8_t> prepared_storage(c.prepared_query_size() + 64);
  void* prepared = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(prepared_storage.data()) + 63) & ~std::uintptr_t(63));
  knn_result r;
  r.nq = nq;
  r.k = k;
  for (std::size_t q = 0; q < nq; ++q) {
    c.prepare_query(queries.data() + q * dim, prepared);
    std::vector<std::pair<float, std::int32_t>> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = {c.distance(prepared, codes.data() + i * c.code_size()), std::int32_t(i)};
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    for (std::size_t i = 0; i < k; ++i) {
      r.ids.push_back(all[i].second);
      r.distances.push_back(all[i].first);
    }
  }
  return r;
}

index_config hnsw_config(const std::string& codec, metric m = metric::l2) {
  index_config c;
  c.kind = "hnsw";
  c.codec = codec;
  c.m = 16;
  c.ef_construction = 100;
  c.ef_search = 64;
  c.distance = m;
  c.threads = 2;
  return c;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("qtune_test_index_" + std::to_string(::getpid()) + "_" + name);
}

using qtune::testing::error_of;

const std::vector<std::string>& all_codecs() {
  static const std::vector<std::string> c = {"fp32", "fp16", "bf16", "sq8", "sq4", "pq8x8"};
  return c;
}

}  // namespace

// --- hnsw vs brute force -------------------------------------------------------------------

TEST(index_hnsw, every_codec_matches_codec_brute_force_at_large_ef) {
  const auto& d = data();
  for (metric m : {metric::l2, metric::ip}) {
    std::vector<float> base = d.base, queries = d.queries;
    if (m == metric::ip) {
      normalize(base, d.dim);
      normalize(queries, d.dim);
    }
    for (const auto& name : all_codecs()) {
      SCOPED_TRACE(name + " " + to_string(m));
      auto idx = make_index(hnsw_config(name, m), d.dim);
      idx->build(view(base, d.dim));
      ASSERT_EQ(idx->size(), d.n);
      idx->set_ef_search(200);
      const knn_result found = run_search(*idx, queries, d.dim, d.k);
      const auto& hn = dynamic_cast<const detail::hnsw_index&>(*idx);
      const knn_result truth = codec_brute_force(hn.graph_codec(), base, queries, d.k);
      EXPECT_GE(recall_ids(found, truth, d.k), 0.97);
      if (name == "fp32") {
        const knn_result exact = exact_knn(view(base, d.dim), view(queries, d.dim), m, d.k);
        EXPECT_GE(recall_ids(found, exact, d.k), 0.97);
      }
    }
  }
}

TEST(index_hnsw, results_sorted_and_distances_are_the_codec_asymmetric_distance) {
  const auto& d = data();
  for (const auto& name : {"sq8", "sq4", "pq8x8"}) {
    SCOPED_TRACE(name);
    auto idx = make_index(hnsw_config(name), d.dim);
    idx->build(view(d.base, d.dim));
    const codec& c = dynamic_cast<const detail::hnsw_index&>(*idx).graph_codec();
    std::vector<std::uint8_t> code(c.code_size());
    alignas(64) static std::uint8_t prepared[1 << 16];
    ASSERT_LE(c.prepared_query_size(), sizeof(prepared));
    std::vector<std::int32_t> ids(d.k);
    std::vector<float> dist(d.k);
    for (std::size_t q = 0; q < 10; ++q) {
      const float* qv = d.queries.data() + q * d.dim;
      idx->search(qv, d.k, ids.data(), dist.data());
      c.prepare_query(qv, prepared);
      for (std::size_t i = 0; i < d.k; ++i) {
        ASSERT_GE(ids[i], 0);
        if (i > 0) EXPECT_LE(dist[i - 1], dist[i]);
        c.encode(1, d.base.data() + ids[i] * d.dim, code.data());
        EXPECT_EQ(dist[i], c.distance(prepared, code.data()));
      }
    }
  }
}

TEST(index_hnsw, own_search_equals_hnswlib_search_knn) {
  const auto& d = data();
  for (const auto& name : {"fp32", "sq4"}) {
    auto idx = make_index(hnsw_config(name), d.dim);
    idx->build(view(d.base, d.dim));
    const auto& hn = dynamic_cast<const detail::hnsw_index&>(*idx);
    std::vector<std::int32_t> a(d.k), b(d.k);
    std::vector<float> da(d.k), db(d.k);
    for (std::size_t ef : {10, 16, 50, 200}) {
      for (std::size_t q = 0; q < d.nq; ++q) {
        const float* qv = d.queries.data() + q * d.dim;
        hn.search_ef(qv, d.k, ef, a.data(), da.data());
        hn.search_hnswlib(qv, d.k, ef, b.data(), db.data());
        EXPECT_EQ(a, b) << name << " ef " << ef << " query " << q;
        EXPECT_EQ(da, db) << name << " ef " << ef << " query " << q;
      }
    }
  }
}

TEST(index_hnsw, per_call_ef_equals_index_ef) {
  const auto& d = data();
  auto idx = make_index(hnsw_config("sq8"), d.dim);
  idx->build(view(d.base, d.dim));
  std::vector<std::int32_t> a(d.k), b(d.k);
  std::vector<float> da(d.k), db(d.k);
  for (std::size_t ef : {12, 40}) {
    idx->set_ef_search(ef);
    for (std::size_t q = 0; q < d.nq; ++q) {
      idx->search(d.queries.data() + q * d.dim, d.k, a.data(), da.data());
      idx->search_ef(d.queries.data() + q * d.dim, d.k, ef, b.data(), db.data());
      EXPECT_EQ(a, b);
      EXPECT_EQ(da, db);
    }
  }
  // ef larger than the index setting gives recall at least as good
  idx->set_ef_search(10);
  const knn_result truth = exact_knn(view(d.base, d.dim), view(d.queries, d.dim), metric::l2, d.k);
  const knn_result lo = run_search(*idx, d.queries, d.dim, d.k);
  knn_result hi = lo;
  for (std::size_t q = 0; q < d.nq; ++q)
    idx->search_ef(d.queries.data() + q * d.dim, d.k, 200, hi.ids.data() + q * d.k, hi.distances.data() + q * d.k);
  EXPECT_GE(recall_ids(hi, truth, d.k), recall_ids(lo, truth, d.k));
  EXPECT_GT(recall_ids(hi, truth, d.k), 0.9);
}

TEST(index_hnsw, graph_from_codes_and_from_floats_both_search_well) {
  const auto& d = data();
  const knn_result truth = exact_knn(view(d.base, d.dim), view(d.queries, d.dim), metric::l2, d.k);
  for (const std::string source : {"float", "codes"}) {
    auto c = hnsw_config("sq8");
    c.graph_source = source;
    c.ef_search = 200;
    auto idx = make_index(c, d.dim);
    idx->build(view(d.base, d.dim));
    const auto& hn = dynamic_cast<const detail::hnsw_index&>(*idx);
    EXPECT_GT(hn.level0_degree_sum(), d.n * 4) << source;
    EXPECT_GE(recall_ids(run_search(*idx, d.queries, d.dim, d.k), truth, d.k), 0.9) << source;
  }
  auto bad = hnsw_config("sq8");
  bad.graph_source = "bogus";
  EXPECT_NE(error_of([&] { make_index(bad, d.dim); }).find("bogus"), std::string::npos);
}

TEST(index_hnsw, rerank_returns_exact_distances_and_improves_recall) {
  const auto& d = data();
  const knn_result truth = exact_knn(view(d.base, d.dim), view(d.queries, d.dim), metric::l2, d.k);
  for (const auto& name : {"sq4", "pq8x8"}) {
    SCOPED_TRACE(name);
    auto c = hnsw_config(name);
    c.ef_search = 100;
    c.rerank = 4;  // keeps the full-precision vectors
    auto idx = make_index(c, d.dim);
    idx->build(view(d.base, d.dim));
    idx->set_rerank(0);
    const double plain = recall_ids(run_search(*idx, d.queries, d.dim, d.k), truth, d.k);
    idx->set_rerank(4);
    const knn_result rr = run_search(*idx, d.queries, d.dim, d.k);
    const double reranked = recall_ids(rr, truth, d.k);
    EXPECT_GT(reranked, plain);
    EXPECT_GE(reranked, 0.95);
    for (std::size_t q = 0; q < d.nq; ++q)
      for (std::size_t i = 0; i < d.k; ++i) {
        const float e = exact_distance(d.queries.data() + q * d.dim, d.base.data() + rr.ids[q * d.k + i] * d.dim, d.dim, metric::l2);
        EXPECT_NEAR(rr.distances[q * d.k + i], e, 1e-4f * std::max(1.f, e));
        if (i > 0) EXPECT_LE(rr.distances[q * d.k + i - 1], rr.distances[q * d.k + i]);
      }
  }
}

TEST(index_hnsw, concurrent_search_equals_sequential) {
  const auto& d = data();
  auto c = hnsw_config("sq4");
  c.rerank = 2;
  auto idx = make_index(c, d.dim);
  idx->build(view(d.base, d.dim));
  const knn_result seq = run_search(*idx, d.queries, d.dim, d.k);
  knn_result par = seq;
  std::fill(par.ids.begin(), par.ids.end(), -7);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t rep = 0; rep < 3; ++rep)
        for (std::size_t q = t; q < d.nq; q += 4)
          idx->search(d.queries.data() + q * d.dim, d.k, par.ids.data() + q * d.k, par.distances.data() + q * d.k);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(seq.ids, par.ids);
  EXPECT_EQ(seq.distances, par.distances);
  knn_result batch = seq;
  std::fill(batch.ids.begin(), batch.ids.end(), -7);
  idx->search_batch(view(d.queries, d.dim), d.k, batch.ids.data(), batch.distances.data(), 2);
  EXPECT_EQ(seq.ids, batch.ids);
  EXPECT_EQ(seq.distances, batch.distances);
}

TEST(index_hnsw, memory_matches_the_formula) {
  const auto& d = data();
  for (const auto& name : {"fp32", "sq8", "sq4"}) {
    SCOPED_TRACE(name);
    auto idx = make_index(hnsw_config(name), d.dim);
    idx->build(view(d.base, d.dim));
    const auto& hn = dynamic_cast<const detail::hnsw_index&>(*idx);
    const codec& c = hn.graph_codec();
    const std::size_t M = 16, n = d.n, stride = hn.layout().stride();
    // one record per node (code, then 2M level-0 ids of 2 bytes, since n < 65535), at most
    // 64-byte aligned; labels (2, n <= 65536) per node, and for sq8 the integer path's |x|^2 (4);
    // per node above level 0: its id (4), level (1) and list offset (4), plus one offset
    EXPECT_GE(stride, c.code_size() + 2 * M * 2);
    EXPECT_LE(stride, c.code_size() + 2 * M * 2 + 64);
    std::size_t upper_nodes = 0;
    for (std::uint32_t i = 0; i < n; ++i) upper_nodes += hn.layout().level(i) > 0;
    EXPECT_NEAR(double(upper_nodes), double(n) / M, 0.35 * double(n) / M);  // P(level >= 1) = 1 / M
    const std::size_t norms = std::string(name) == "sq8" ? n * 4 : 0;
    const std::size_t fixed = n * stride + n * 2 + upper_nodes * (4 + 1 + 4) + 4 + norms + c.table_bytes();
    const index_memory mem = idx->memory();
    ASSERT_GE(mem.resident_bytes, fixed);
    const std::size_t upper = mem.resident_bytes - fixed;
    EXPECT_EQ(upper % (M * 4 + 4), 0u);
    // expected number of upper-level link lists: n * sum_{l>=1} M^-l = n / (M - 1)
    const double expected_lists = double(n) / (M - 1);
    EXPECT_NEAR(double(upper / (M * 4 + 4)), expected_lists, 0.35 * expected_lists);
    EXPECT_EQ(mem.rerank_bytes, 0u);  // built with rerank 0: no full-precision rows kept
    EXPECT_EQ(mem.total(), mem.resident_bytes + mem.rerank_bytes);
    auto cfg = hnsw_config(name);
    cfg.rerank = 2;
    auto with_rows = make_index(cfg, d.dim);
    with_rows->build(view(d.base, d.dim));
    EXPECT_EQ(with_rows->memory().rerank_bytes, std::string(name) == "fp32" ? 0u : n * d.dim * sizeof(float));
  }
}

TEST(index_hnsw, rerank_on_an_index_built_without_full_vectors_is_an_error) {
  const auto& d = data();
  auto idx = make_index(hnsw_config("sq8"), d.dim);
  idx->build(view(d.base, d.dim));
  EXPECT_NE(error_of([&] { idx->set_rerank(3); }).find("full-precision"), std::string::npos);
  idx->set_rerank(0);  // fine
  auto exact = make_index(hnsw_config("fp32"), d.dim);
  exact->build(view(d.base, d.dim));
  exact->set_rerank(3);  // fp32 codes are the full vectors: nothing to keep
}

TEST(index_hnsw, bad_configs_and_inputs_are_errors) {
  const auto& d = data();
  EXPECT_NE(error_of([&] { make_index(hnsw_config("nonsense9"), d.dim); }), "");
  index_config c = hnsw_config("fp32");
  c.kind = "annoy";
  EXPECT_NE(error_of([&] { make_index(c, d.dim); }).find("annoy"), std::string::npos);
  auto idx = make_index(hnsw_config("fp32"), d.dim);
  std::vector<std::int32_t> ids(d.k);
  std::vector<float> dist(d.k);
  EXPECT_NE(error_of([&] { idx->search(d.queries.data(), d.k, ids.data(), dist.data()); }), "");
  std::vector<float> wrong(100 * 16);
  EXPECT_NE(error_of([&] { idx->build(view(wrong, 16)); }).find("dimension"), std::string::npos);
}

TEST(index_hnsw, fewer_points_than_k_are_padded) {
  const std::size_t dim = 8;
  std::vector<float> base = clustered(5, dim, 3, 2);
  auto idx = make_index(hnsw_config("fp32"), dim);
  idx->build(view(base, dim));
  std::vector<std::int32_t> ids(10);
  std::vector<float> dist(10);
  idx->search(base.data(), 10, ids.data(), dist.data());
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(dist[0], 0.f);
  for (std::size_t i = 5; i < 10; ++i) {
    EXPECT_EQ(ids[i], -1);
    EXPECT_TRUE(std::isinf(dist[i]));
  }
}

// --- save / load ---------------------------------------------------------------------------

TEST(index_file, hnsw_round_trip_gives_identical_results) {
  const auto& d = data();
  for (const auto& name : {"fp32", "sq4", "pq8x8"}) {
    SCOPED_TRACE(name);
    auto c = hnsw_config(name);
    c.rerank = 3;
    c.ef_search = 50;
    auto idx = make_index(c, d.dim);
    idx->build(view(d.base, d.dim));
    const auto path = temp_path(std::string("rt_") + name);
    idx->save(path);
    const knn_result before = run_search(*idx, d.queries, d.dim, d.k);

    auto fresh = make_index(hnsw_config("fp32"), d.dim);  // config comes from the file
    fresh->load(path);
    EXPECT_EQ(fresh->config().codec, idx->config().codec);
    EXPECT_EQ(fresh->config().rerank, 3u);
    EXPECT_EQ(fresh->size(), d.n);
    const knn_result after = run_search(*fresh, d.queries, d.dim, d.k);
    EXPECT_EQ(before.ids, after.ids);
    EXPECT_EQ(before.distances, after.distances);
    EXPECT_EQ(fresh->memory().resident_bytes, idx->memory().resident_bytes);
    EXPECT_EQ(fresh->memory().rerank_bytes, idx->memory().rerank_bytes);

    auto loaded = load_index(path);
    EXPECT_EQ(run_search(*loaded, d.queries, d.dim, d.k).ids, before.ids);
    std::filesystem::remove(path);
  }
}

TEST(index_file, corrupt_truncated_and_mismatched_files_are_clear_errors) {
  const auto& d = data();
  auto idx = make_index(hnsw_config("sq8"), d.dim);
  idx->build(view(d.base, d.dim));
  const auto path = temp_path("bad");
  idx->save(path);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(b.data(), b.size());
  };
  auto load_error = [&] {
    auto fresh = make_index(hnsw_config("sq8"), d.dim);
    return error_of([&] { fresh->load(path); });
  };
  // corrupt: one payload byte flipped
  std::string corrupt = bytes;
  corrupt[corrupt.size() - 100] ^= 0x5a;
  write(corrupt);
  std::string e = load_error();
  EXPECT_NE(e.find("corrupt"), std::string::npos) << e;
  EXPECT_NE(e.find(path.string()), std::string::npos) << e;
  // truncated
  write(bytes.substr(0, bytes.size() / 2));
  e = load_error();
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  write(bytes.substr(0, 12));
  EXPECT_NE(load_error().find("truncated"), std::string::npos);
  // foreign file
  write("hello, this is not an index file at all");
  e = load_error();
  EXPECT_NE(e.find("not a qtune index file"), std::string::npos) << e;
  // mismatched dim and kind
  write(bytes);
  auto other_dim = make_index(hnsw_config("sq8"), d.dim + 1);
  e = error_of([&] { other_dim->load(path); });
  EXPECT_NE(e.find("dim"), std::string::npos) << e;
  index_config fc;
  fc.kind = "faiss:HNSW16";
  auto other_kind = make_index(fc, d.dim);
  e = error_of([&] { other_kind->load(path); });
  EXPECT_NE(e.find("hnsw"), std::string::npos) << e;
  // missing file
  std::filesystem::remove(path);
  EXPECT_NE(load_error().find(path.string()), std::string::npos);
}

// --- faiss ---------------------------------------------------------------------------------

TEST(index_faiss, hnsw_flat_and_sq8_recall_and_distances) {
  const auto& d = data();
  const knn_result truth = exact_knn(view(d.base, d.dim), view(d.queries, d.dim), metric::l2, d.k);
  for (const std::string f : {"faiss:HNSW16", "faiss:HNSW16,SQ8"}) {
    SCOPED_TRACE(f);
    index_config c;
    c.kind = f;
    c.ef_construction = 100;
    c.ef_search = 128;
    c.threads = 2;
    auto idx = make_index(c, d.dim);
    idx->build(view(d.base, d.dim));
    EXPECT_EQ(idx->size(), d.n);
    const knn_result found = run_search(*idx, d.queries, d.dim, d.k);
    EXPECT_GE(recall_ids(found, truth, d.k), 0.95);
    if (f == "faiss:HNSW16") {
      for (std::size_t i = 0; i < d.k; ++i)
        EXPECT_NEAR(found.distances[i], exact_distance(d.queries.data(), d.base.data() + found.ids[i] * d.dim, d.dim, metric::l2), 1e-3);
      // level-0 neighbours: 2M int32 per node at least, plus the flat codes
      EXPECT_GE(idx->memory().resident_bytes, d.n * (2 * 16 * 4 + d.dim * 4));
    } else {
      EXPECT_GE(idx->memory().resident_bytes, d.n * (2 * 16 * 4 + d.dim));
      EXPECT_LT(idx->memory().resident_bytes, d.n * (2 * 16 * 4 + d.dim * 4));
    }
    // batch equals single queries
    knn_result batch = found;
    idx->search_batch(view(d.queries, d.dim), d.k, batch.ids.data(), batch.distances.data(), 2);
    EXPECT_EQ(batch.ids, found.ids);
    // per-call ef: low ef gives lower or equal recall
    knn_result low = found;
    for (std::size_t q = 0; q < d.nq; ++q)
      idx->search_ef(d.queries.data() + q * d.dim, d.k, 10, low.ids.data() + q * d.k, low.distances.data() + q * d.k);
    EXPECT_LE(recall_ids(low, truth, d.k), recall_ids(found, truth, d.k));
  }
}

TEST(index_faiss, inner_product_distances_are_one_minus_similarity) {
  const auto& d = data();
  std::vector<float> base = d.base, queries = d.queries;
  normalize(base, d.dim);
  normalize(queries, d.dim);
  index_config c;
  c.kind = "faiss:HNSW16";
  c.distance = metric::ip;
  c.ef_search = 128;
  auto idx = make_index(c, d.dim);
  idx->build(view(base, d.dim));
  const knn_result found = run_search(*idx, queries, d.dim, d.k);
  const knn_result truth = exact_knn(view(base, d.dim), view(queries, d.dim), metric::ip, d.k);
  EXPECT_GE(recall_ids(found, truth, d.k), 0.95);
  for (std::size_t i = 0; i < d.k; ++i)
    EXPECT_NEAR(found.distances[i], exact_distance(queries.data(), base.data() + found.ids[i] * d.dim, d.dim, metric::ip), 1e-4);
}

TEST(index_faiss, round_trip_and_errors) {
  const auto& d = data();
  index_config c;
  c.kind = "faiss:HNSW16,SQ8";
  c.ef_search = 40;
  auto idx = make_index(c, d.dim);
  idx->build(view(d.base, d.dim));
  const auto path = temp_path("faiss");
  idx->save(path);
  auto loaded = load_index(path);
  EXPECT_EQ(loaded->config().kind, c.kind);
  EXPECT_EQ(loaded->config().ef_search, 40u);
  EXPECT_EQ(run_search(*loaded, d.queries, d.dim, d.k).ids, run_search(*idx, d.queries, d.dim, d.k).ids);
  EXPECT_EQ(loaded->memory().resident_bytes, idx->memory().resident_bytes);
  auto hn = make_index(hnsw_config("fp32"), d.dim);
  EXPECT_NE(error_of([&] { hn->load(path); }).find("expected 'hnsw'"), std::string::npos);
  std::filesystem::remove(path);
  index_config bad;
  bad.kind = "faiss:NoSuchThing";
  EXPECT_NE(error_of([&] { make_index(bad, d.dim); }).find("NoSuchThing"), std::string::npos);
}

// --- real data -----------------------------------------------------------------------------

TEST(index_hnsw, sift10k_recall_at_10) {
  QTUNE_REQUIRE_DATA_FILE(base_path, "sift10k/siftsmall_base.fvecs");
  QTUNE_REQUIRE_DATA_FILE(query_path, "sift10k/siftsmall_query.fvecs");
  QTUNE_REQUIRE_DATA_FILE(gt_path, "sift10k/siftsmall_groundtruth.ivecs");
  const vectors base = read_vectors(base_path);
  const vectors queries = read_vectors(query_path);
  const int_matrix gt = read_ids(gt_path);
  knn_result truth;
  truth.nq = gt.rows;
  truth.k = gt.dim;
  truth.ids = gt.values;
  for (const auto& name : {"fp32", "sq8"}) {
    auto c = hnsw_config(name);
    c.ef_search = 128;
    auto idx = make_index(c, base.dim());
    idx->build(base.view());  // a strided view into the .fvecs mapping
    knn_result found;
    found.nq = queries.rows();
    found.k = 10;
    found.ids.resize(found.nq * 10);
    found.distances.resize(found.nq * 10);
    idx->search_batch(queries.view(), 10, found.ids.data(), found.distances.data(), 2);
    EXPECT_GE(recall_ids(found, truth, 10), 0.95) << name;
  }
}
