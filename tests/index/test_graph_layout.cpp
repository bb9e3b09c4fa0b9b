// qtune's own HNSW search layout (src/index/graph_layout.hpp) and the hnswlib coupling
// (src/index/hnswlib_graph.hpp): the fast search equals the plain reference on real data, the
// layout's file form is validated against crafted bytes, odd code sizes are aligned, small-M
// builds are sound, and the hnswlib version is the one the coupling was written for.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "index/graph_kernels.hpp"
#include "index/graph_layout.hpp"
#include "index/hnsw_index.hpp"
#include "index/hnswlib_graph.hpp"
#include "util/hash.hpp"
#include "index/index_file.hpp"
#include "qtune/codec.hpp"
#include "qtune/dataset.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/index.hpp"
#include "qtune/simd.hpp"
#include "test_data.hpp"

using namespace qtune;

namespace {

struct real_set {
  std::vector<float> base, queries;
  std::size_t n = 0, nq = 0, dim = 0;
};

/// The first n base rows and nq query rows of a real set.
real_set load_set(const std::filesystem::path& base, const std::filesystem::path& queries, std::size_t n,
                  std::size_t nq) {
  real_set s;
  read_options ro;
  ro.max_rows = n;
  const vectors b = read_vectors(base, ro);
  ro.max_rows = nq;
  const vectors q = read_vectors(queries, ro);
  s.n = b.rows();
  s.nq = q.rows();
  s.dim = b.dim();
  for (std::size_t i = 0; i < s.n; ++i) s.base.insert(s.base.end(), b.row(i), b.row(i) + s.dim);
  for (std::size_t i = 0; i < s.nq; ++i) s.queries.insert(s.queries.end(), q.row(i), q.row(i) + s.dim);
  return s;
}

matrix_view<float> view(const std::vector<float>& x, std::size_t dim) { return {x.data(), x.size() / dim, dim, dim}; }

index_config config(const std::string& codec, std::size_t m = 16) {
  index_config c;
  c.kind = "hnsw";
  c.codec = codec;
  c.m = m;
  c.ef_construction = 80;
  c.ef_search = 40;
  c.threads = 2;
  return c;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("qtune_test_layout_" + std::to_string(::getpid()) + "_" + name);
}

using qtune::testing::error_of;

/// The fast search and the reference search agree exactly (ids and distances) at several ef.
void expect_search_equals_reference(const detail::hnsw_index& idx, const real_set& s, const std::string& what) {
  const std::size_t k = 10;
  std::vector<std::int32_t> a(k), b(k);
  std::vector<float> da(k), db(k);
  for (std::size_t ef : {10, 24, 64, 200})
    for (std::size_t q = 0; q < s.nq; ++q) {
      const float* qv = s.queries.data() + q * s.dim;
      idx.search_ef(qv, k, ef, a.data(), da.data());
      idx.search_reference(qv, k, ef, b.data(), db.data());
      ASSERT_EQ(a, b) << what << " ef " << ef << " query " << q;
      ASSERT_EQ(da, db) << what << " ef " << ef << " query " << q;
    }
}

}  // namespace

TEST(graph_layout, fast_search_equals_reference_on_real_data) {
  QTUNE_REQUIRE_DATA_FILE(sift_base, "sift10k/siftsmall_base.fvecs");
  QTUNE_REQUIRE_DATA_FILE(sift_query, "sift10k/siftsmall_query.fvecs");
  QTUNE_REQUIRE_DATA_FILE(glove_base, "glove50-10k/glove50_base.fvecs");
  QTUNE_REQUIRE_DATA_FILE(glove_query, "glove50-10k/glove50_query.fvecs");
  const real_set sift = load_set(sift_base, sift_query, 3000, 40);
  const real_set glove = load_set(glove_base, glove_query, 3000, 40);
  for (const auto& [set, codecs] : std::vector<std::pair<const real_set*, std::vector<std::string>>>{
           {&sift, {"fp32", "sq8", "sq4", "fp16", "pq32x8"}}, {&glove, {"sq8", "bin", "pq5x4"}}}) {
    for (const auto& name : codecs) {
      auto idx = make_index(config(name), set->dim);
      idx->build(view(set->base, set->dim));
      expect_search_equals_reference(dynamic_cast<const detail::hnsw_index&>(*idx), *set, name);
    }
  }
}

TEST(graph_layout, own_search_matches_hnswlib_search_knn_on_the_same_graph) {
  QTUNE_REQUIRE_DATA_FILE(sift_base, "sift10k/siftsmall_base.fvecs");
  QTUNE_REQUIRE_DATA_FILE(sift_query, "sift10k/siftsmall_query.fvecs");
  const real_set s = load_set(sift_base, sift_query, 2000, 20);
  auto idx = make_index(config("fp32"), s.dim);
  idx->build(view(s.base, s.dim));
  const auto& hn = dynamic_cast<const detail::hnsw_index&>(*idx);
  const std::size_t k = 10;
  std::vector<std::int32_t> a(k), b(k);
  std::vector<float> da(k), db(k);
  for (std::size_t q = 0; q < s.nq; ++q) {
    hn.search_ef(s.queries.data() + q * s.dim, k, 50, a.data(), da.data());
    hn.search_hnswlib(s.queries.data() + q * s.dim, k, 50, b.data(), db.data());
    EXPECT_EQ(a, b) << "query " << q;  // fp32 on sift: no distance ties
    EXPECT_EQ(da, db) << "query " << q;
  }
}

TEST(graph_layout, records_are_aligned_for_every_code_size) {
  // bin on 50 dims = 7-byte codes, pq3x4 = 2 bytes, sq4 on 25 dims = 13 bytes: none a multiple of 4
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  for (const auto& [name, dim] : std::vector<std::pair<std::string, std::size_t>>{
           {"bin", 50}, {"pq3x4", 24}, {"sq4", 25}, {"fp16", 13}, {"sq8", 7}}) {
    SCOPED_TRACE(name);
    std::vector<float> x(1500 * dim), q(20 * dim);
    for (auto& v : x) v = g(rng);
    for (auto& v : q) v = g(rng);
    auto idx = make_index(config(name), dim);
    idx->build(view(x, dim));
    const auto& hn = dynamic_cast<const detail::hnsw_index&>(*idx);
    const detail::graph_layout& L = hn.layout();
    // records are whole cache lines or packed 4-byte aligned (the widest element a codec reads)
    EXPECT_EQ(L.stride() % 4, 0u);
    for (std::uint32_t i = 0; i < L.size(); ++i)
      ASSERT_EQ(reinterpret_cast<std::uintptr_t>(L.code(i)) % 4, 0u) << "node " << i;
    real_set s;
    s.queries = q;
    s.nq = 20;
    s.dim = dim;
    expect_search_equals_reference(hn, s, name);
  }
}

TEST(graph_layout, three_byte_ids_above_65534_nodes) {
  // 70,000 nodes: level-0 ids take 3 bytes. A random graph (a ring plus random links, one upper
  // level) over fp32 codes: the fast search equals the plain reference, and the file form
  // round-trips into the same searches.
  const std::size_t n = 70000, dim = 4, deg0 = 8, deg = 4;
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  std::vector<float> x(n * dim);
  for (auto& v : x) v = g(rng);
  auto c = make_codec("fp32", dim, metric::l2);
  c->train(n, x.data());
  std::vector<std::uint8_t> codes(n * c->code_size());
  c->encode(n, x.data(), codes.data());
  detail::plain_graph pg;
  pg.n = n;
  pg.max_degree0 = deg0;
  pg.max_degree = deg;
  pg.entry = 0;
  pg.max_level = 1;
  pg.levels.assign(n, 0);
  pg.degree0.assign(n, 0);
  pg.links0.assign(n * deg0, 0);
  pg.upper.assign(n, {});
  pg.labels.resize(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    pg.labels[i] = (i * 7919u) % n;  // 7919 is prime to 70000: a permutation
    std::vector<std::uint32_t> l = {(i + 1) % std::uint32_t(n), (i + std::uint32_t(n) - 1) % std::uint32_t(n)};
    while (l.size() < deg0 - (i % 3)) {
      const std::uint32_t t = static_cast<std::uint32_t>(rng() % n);
      if (t != i && std::find(l.begin(), l.end(), t) == l.end()) l.push_back(t);
    }
    pg.degree0[i] = static_cast<std::uint32_t>(l.size());
    std::copy(l.begin(), l.end(), pg.links0.begin() + std::ptrdiff_t(i * deg0));
  }
  for (std::uint32_t i = 0; i < n; i += 1000) {  // every 1000th node is on level 1, in a ring
    pg.levels[i] = 1;
    pg.upper[i] = {2, (i + 1000) % std::uint32_t(n), (i + std::uint32_t(n) - 1000) % std::uint32_t(n), 0, 0};
  }
  const auto L = detail::graph_layout::from_plain(pg, codes.data(), c->code_size());
  ASSERT_EQ(L.id_bytes(), 3u);
  EXPECT_EQ(L.stride(), 16u + deg0 * 3);  // packed: 40 bytes, not a 64-byte line
  const auto L2 = detail::graph_layout::deserialize(L.serialize(), n, c->code_size(), "round trip");
  ASSERT_EQ(L2.id_bytes(), 3u);
  std::vector<std::uint8_t> buf(c->prepared_query_size() + 64);
  void* prepared = buf.data() + (64 - reinterpret_cast<std::uintptr_t>(buf.data()) % 64) % 64;
  for (std::size_t q = 0; q < 30; ++q) {
    const float* qv = x.data() + (q * 2311 % n) * dim;
    c->prepare_query(qv, prepared);
    const detail::graph_query gq{prepared, c->asymmetric_distance(), c->distance_params(), qv};
    std::vector<detail::graph_hit> fast, ref, loaded;
    L.search(gq, 32, fast);
    L.search_reference(gq, 32, ref);
    L2.search(gq, 32, loaded);
    ASSERT_EQ(fast, ref) << "query " << q;
    ASSERT_EQ(fast, loaded) << "query " << q;
    ASSERT_EQ(fast.size(), 32u);
    for (const auto& [d, id] : fast)  // the scores are the codes' distances (3-byte ids read right)
      ASSERT_EQ(d, gq.fn(prepared, L.code(id), gq.params)) << "query " << q << " node " << id;
  }
  // every node's links, read back through the 3-byte ids and mapped to the original nodes by
  // their labels, are the original lists in order
  std::vector<std::uint32_t> node_of_label(n);
  for (std::uint32_t u = 0; u < n; ++u) node_of_label[pg.labels[u]] = u;
  const detail::plain_graph back = L.to_plain();
  for (std::uint32_t v = 0; v < n; ++v) {
    const std::uint32_t u = node_of_label[L.label(v)];
    ASSERT_EQ(back.degree0[v], pg.degree0[u]) << "node " << v;
    for (std::size_t j = 0; j < back.degree0[v]; ++j)
      ASSERT_EQ(node_of_label[L.label(back.links0[v * deg0 + j])], pg.links0[u * deg0 + j]) << "node " << v;
    ASSERT_EQ(L.degree0(v), L2.degree0(v));
    ASSERT_EQ(L.label(v), L2.label(v));
  }
}

TEST(graph_layout, small_m_builds_and_searches) {
  // hnswlib 0.6.2 reads one entry past a full upper-level list while building (ASan
  // heap-buffer-overflow with M = 4 on small sets); the builder pads its allocations. Under the
  // sanitizer build this test is the regression check.
  QTUNE_REQUIRE_DATA_FILE(sift_base, "sift10k/siftsmall_base.fvecs");
  QTUNE_REQUIRE_DATA_FILE(sift_query, "sift10k/siftsmall_query.fvecs");
  const real_set s = load_set(sift_base, sift_query, 1500, 30);
  const knn_result truth = exact_knn(view(s.base, s.dim), view(s.queries, s.dim), metric::l2, 10);
  for (std::size_t m : {2, 3, 4, 5}) {
    auto idx = make_index(config("sq8", m), s.dim);
    idx->build(view(s.base, s.dim));
    knn_result r;
    r.nq = s.nq;
    r.k = 10;
    r.ids.resize(s.nq * 10);
    r.distances.resize(s.nq * 10);
    for (std::size_t q = 0; q < s.nq; ++q)
      idx->search_ef(s.queries.data() + q * s.dim, 10, 200, r.ids.data() + q * 10, r.distances.data() + q * 10);
    EXPECT_GT(recall_ids(r, truth, 10), m <= 2 ? 0.5 : 0.8) << "M " << m;
    // add() goes back through hnswlib with the same padding
    idx->add(view(std::vector<float>(s.queries.begin(), s.queries.begin() + 5 * s.dim), s.dim));
    EXPECT_EQ(idx->size(), s.n + 5);
  }
}

// --- the index file: the new layout loads, the old format is refused, crafted bytes are errors ---

namespace {

struct saved_index {
  std::filesystem::path path;
  detail::index_file file;
  std::string graph;  // the GRAF section
  std::size_t dim = 0;
  std::vector<float> queries;
};

const saved_index& saved() {
  static const saved_index s = [] {
    saved_index r;
    std::mt19937 rng(3);
    std::normal_distribution<float> g;
    r.dim = 16;
    std::vector<float> x(1200 * r.dim);
    for (auto& v : x) v = g(rng);
    r.queries.assign(x.begin(), x.begin() + 10 * r.dim);
    auto idx = make_index(config("fp16", 8), r.dim);
    idx->build(view(x, r.dim));
    r.path = temp_path("saved");
    idx->save(r.path);
    r.file = detail::read_index_file(r.path);
    r.graph = r.file.section("GRAF", r.path);
    return r;
  }();
  return s;
}

/// Writes `graph` as the GRAF section of a copy of the saved file (checksum recomputed, as
/// anyone editing a file can) and loads it; returns the error ("" when it loaded and searched).
std::string load_with_graph(const std::string& graph) {
  const saved_index& s = saved();
  detail::index_file f = s.file;
  for (auto& [tag, bytes] : f.sections)
    if (tag == "GRAF") bytes = graph;
  const auto path = temp_path("crafted");
  detail::write_index_file(path, f);
  std::string e = error_of([&] {
    auto idx = make_index(config("fp16", 8), s.dim);
    idx->load(path);
    std::vector<std::int32_t> ids(10);
    std::vector<float> d(10);
    for (std::size_t q = 0; q < 10; ++q) {
      idx->search_ef(s.queries.data() + q * s.dim, 10, 64, ids.data(), d.data());
      for (auto id : ids) EXPECT_LT(id, 1200);
    }
  });
  std::filesystem::remove(path);
  return e;
}

void set_u32(std::string& b, std::size_t offset, std::uint32_t v) { std::memcpy(b.data() + offset, &v, 4); }

}  // namespace

TEST(index_file, saved_layout_loads_and_old_version_is_refused_by_name) {
  const saved_index& s = saved();
  EXPECT_EQ(s.file.version, detail::index_file_version);
  EXPECT_EQ(load_with_graph(s.graph), "");
  // a version-1 file (hnswlib's own graph bytes) is refused, naming the version
  std::string bytes = detail::read_file_bytes(s.path);
  set_u32(bytes, 8, 1);
  const auto path = temp_path("v1");
  detail::write_file_bytes(path, bytes);
  auto idx = make_index(config("fp16", 8), s.dim);
  const std::string e = error_of([&] { idx->load(path); });
  EXPECT_NE(e.find("version 1"), std::string::npos) << e;
  EXPECT_NE(e.find("rebuild"), std::string::npos) << e;
  set_u32(bytes, 8, 99);
  detail::write_file_bytes(path, bytes);
  EXPECT_NE(error_of([&] { idx->load(path); }).find("version 99"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(index_file, crafted_graph_sections_are_errors_not_memory_errors) {
  const saved_index& s = saved();
  const std::string& g = s.graph;
  std::uint32_t n, deg0, deg;
  std::memcpy(&n, g.data() + 4, 4);
  std::memcpy(&deg0, g.data() + 8, 4);
  std::memcpy(&deg, g.data() + 12, 4);
  ASSERT_EQ(n, 1200u);
  const std::size_t levels_at = 32, labels_at = levels_at + n, degree_at = labels_at + 4 * n, links_at = degree_at + 4 * n;
  auto with = [&](std::size_t offset, std::uint32_t v) {
    std::string b = g;
    set_u32(b, offset, v);
    return load_with_graph(b);
  };
  EXPECT_NE(with(links_at, n).find("out of range"), std::string::npos);           // neighbour id = n
  EXPECT_NE(with(links_at + 4, 0xffffff00u).find("out of range"), std::string::npos) << with(links_at + 4, 0xffffff00u);
  EXPECT_NE(with(degree_at + 8, deg0 + 1).find("level-0 links"), std::string::npos);  // degree above capacity
  EXPECT_NE(with(4, 0x7fffffffu).find("nodes"), std::string::npos);                // node count
  EXPECT_NE(with(8, 0x40000000u).find("degrees"), std::string::npos);              // huge degree
  EXPECT_NE(with(12, 0xffffffffu).find("degrees"), std::string::npos);
  EXPECT_NE(with(16, 3).find("code"), std::string::npos);                          // code size
  EXPECT_NE(with(20, n + 5).find("entry point"), std::string::npos);               // entry point
  EXPECT_NE(with(24, 200).find("max level"), std::string::npos);                   // max level
  EXPECT_NE(with(labels_at, 5).find("permutation"), std::string::npos);            // duplicate label
  {
    std::string b = g;
    b[levels_at + 7] = 60;  // a level above the graph's max level
    EXPECT_NE(load_with_graph(b).find("level"), std::string::npos);
  }
  EXPECT_NE(load_with_graph(g.substr(0, g.size() - 1)).find("truncated"), std::string::npos);
  EXPECT_NE(load_with_graph(g + "x").find("trailing"), std::string::npos);
  EXPECT_NE(load_with_graph(g.substr(0, 20)).find("truncated"), std::string::npos);
  EXPECT_NE(load_with_graph("").find("truncated"), std::string::npos);
}

TEST(index_file, random_byte_changes_in_the_graph_never_crash) {
  // One changed byte in a valid fp16 index used to segfault the search service on its first
  // search (an unchecked neighbour id). Every single-byte change of the graph section now either
  // loads into a graph whose searches stay in range or is a qtune::error.
  const std::string& g = saved().graph;
  std::mt19937 rng(11);
  std::size_t loaded = 0, refused = 0;
  const std::size_t codes_at = g.size() - 1200 * 32;  // changes in codes are harmless; aim at the structure
  for (int t = 0; t < 300; ++t) {
    std::string b = g;
    const std::size_t at = rng() % codes_at;
    b[at] = static_cast<char>(b[at] ^ (1 + rng() % 255));
    (load_with_graph(b).empty() ? loaded : refused) += 1;
  }
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(loaded + refused, 300u);
}

TEST(hnswlib_coupling, installed_hnswlib_is_the_version_the_coupling_was_written_for) {
  EXPECT_STREQ(detail::hnswlib_written_for, "0.6.2");
  EXPECT_NO_THROW(detail::check_hnswlib_layout());
  // The header itself: src/index/hnswlib_graph.cpp reads hnswlib's private members, so a different
  // hnswlib must fail here loudly, not misbehave silently. Known: Debian 12 libhnswlib-dev 0.6.2.
  std::filesystem::path header;
  for (const char* dir : {"/usr/include", "/usr/local/include"})
    if (std::filesystem::exists(std::filesystem::path(dir) / "hnswlib/hnswalg.h")) {
      header = std::filesystem::path(dir) / "hnswlib/hnswalg.h";
      break;
    }
  ASSERT_FALSE(header.empty()) << "hnswlib/hnswalg.h not found under /usr/include or /usr/local/include";
  const std::string text = detail::read_file_bytes(header);
  const std::uint64_t h = fnv1a64(text.data(), text.size());
  EXPECT_EQ(h, 0x13abf4959c101bc3ull) << header << " (FNV-1a " << std::hex << h
                       << ") is not hnswlib 0.6.2's hnswalg.h, which src/index/hnswlib_graph.cpp was written for: "
                          "check the members it uses and update the known hash";
}

TEST(graph_kernels, integer_dot_equals_scalar_reference_on_real_codes) {
  QTUNE_REQUIRE_DATA_FILE(fm_base, "fmnist10k/fmnist_base.fvecs");
  QTUNE_REQUIRE_DATA_FILE(fm_query, "fmnist10k/fmnist_query.fvecs");
  const real_set s = load_set(fm_base, fm_query, 500, 8);
  auto c = make_codec("sq8", s.dim, metric::l2);
  c->train(s.n, s.base.data());
  // codes at odd offsets and strides, dims that are not multiples of the vector width
  for (std::size_t dim : {s.dim, std::size_t(50), std::size_t(33), std::size_t(7)}) {
    const std::size_t stride = dim + 3;
    std::vector<std::uint8_t> all(s.n * s.dim), base(s.n * stride + 1);
    c->encode(s.n, s.base.data(), all.data());
    for (std::size_t i = 0; i < s.n; ++i) std::memcpy(base.data() + 1 + i * stride, all.data() + i * s.dim, dim);
    std::vector<std::uint32_t> ids(s.n);
    for (std::size_t i = 0; i < s.n; ++i) ids[i] = static_cast<std::uint32_t>((i * 7919) % s.n);
    std::vector<std::int16_t> w((dim + 63) / 64 * 64, 0);
    std::mt19937 rng(5);
    const int limit = static_cast<int>(std::min<std::size_t>(32767, 2147483647ull / (255 * dim)));
    for (std::size_t j = 0; j < dim; ++j) w[j] = static_cast<std::int16_t>(int(rng() % (2 * limit + 1)) - limit);
    std::vector<std::int32_t> ref(s.n), got(s.n);
    detail::graph_kernels::dot_u8_i16_batch_scalar(w.data(), base.data() + 1, stride, ids.data(), s.n, dim, ref.data());
    for (simd_level level : {simd_level::avx2, simd_level::avx512}) {
      if (level > detected_simd_level()) continue;
      SCOPED_TRACE(detail::graph_kernels::dot_u8_i16_batch_name(level));
      detail::graph_kernels::dot_u8_i16_batch(level)(w.data(), base.data() + 1, stride, ids.data(), s.n, dim, got.data());
      EXPECT_EQ(ref, got) << "dim " << dim;
    }
  }
}
