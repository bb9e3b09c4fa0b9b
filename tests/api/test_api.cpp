// The library front door (qtune/qtune.hpp) on real data (sift10k): parameter file -> index,
// checked loading, adding vectors, per-call ef, concurrent searches, input errors, and that
// public headers stay free of third-party headers.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "qtune/qtune.hpp"
#include "test_data.hpp"

using namespace qtune;

namespace {

using qtune::testing::error_of;

struct sift_small {
  vectors base, queries;
};

/// The first 3000 base rows and 50 queries of sift10k (nullptr when the data is missing).
const sift_small* sift() {
  static const sift_small* s = [] () -> const sift_small* {
    const auto dir = qtune::testing::data_dir() / "sift10k";
    if (!std::filesystem::exists(dir / "siftsmall_base.fvecs")) return nullptr;
    read_options ro;
    ro.max_rows = 3000;
    auto* d = new sift_small;
    d->base = read_vectors(dir / "siftsmall_base.fvecs", ro);
    ro.max_rows = 50;
    d->queries = read_vectors(dir / "siftsmall_query.fvecs", ro);
    return d;
  }();
  return s;
}

#define REQUIRE_SIFT()                                                                   \
  QTUNE_REQUIRE_DATA_FILE(sift_file_, "sift10k/siftsmall_base.fvecs");                   \
  const sift_small& s = *sift();

recommended_params params_for(const std::string& codec, std::size_t rerank = 0) {
  recommended_params p;
  p.dim = 128;
  p.k = 10;
  p.config.kind = "hnsw";
  p.config.codec = codec;
  p.config.m = 16;
  p.config.ef_construction = 100;
  p.config.ef_search = 64;
  p.config.rerank = rerank;
  p.config.threads = 2;
  return p;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("qtune-api-" + std::to_string(::getpid()) + "-" + name);
}

/// Row i of x as its own 1-row view.
matrix_view<float> rows_of(const vectors& x, std::size_t begin, std::size_t end) {
  return {x.row(begin), end - begin, x.dim(), x.view().stride};
}

}  // namespace

TEST(api, build_index_matches_the_parameter_file_and_brute_force) {
  REQUIRE_SIFT();
  const recommended_params p = params_for("sq8", 4);
  auto idx = build_index(p, s.base.view());
  EXPECT_EQ(idx->size(), 3000u);
  EXPECT_EQ(idx->config().codec, "sq8");
  EXPECT_EQ(idx->config().rerank, 4u);
  const knn_result truth = exact_knn(s.base.view(), s.queries.view(), metric::l2, 10);
  const knn_result found = search(*idx, s.queries.view(), 10);
  EXPECT_GE(recall_ids(found, truth, 10), 0.95);
  // the same as the index interface with the same settings
  std::vector<std::int32_t> ids(found.ids.size());
  std::vector<float> d(found.ids.size());
  idx->search_batch(s.queries.view(), 10, ids.data(), d.data(), 2);
  EXPECT_EQ(ids, found.ids);
  EXPECT_NE(error_of([&] { build_index(p, rows_of(s.base, 0, 0)); }), "");
  recommended_params wrong = p;
  wrong.dim = 64;
  EXPECT_NE(error_of([&] { build_index(wrong, s.base.view()); }).find("dim 64"), std::string::npos);
}

TEST(api, saved_index_round_trip_returns_identical_results) {
  REQUIRE_SIFT();
  for (const char* codec : {"fp32", "sq8", "sq4"}) {
    SCOPED_TRACE(codec);
    const recommended_params p = params_for(codec, std::string(codec) == "fp32" ? 0 : 3);
    auto idx = build_index(p, s.base.view());
    const auto path = temp_path(std::string(codec) + ".qidx");
    idx->save(path);
    auto opened = open_index(path, p);
    std::filesystem::remove(path);
    for (std::size_t ef : {0, 20, 150}) {
      const knn_result a = search(*idx, s.queries.view(), 10, ef);
      const knn_result b = search(*opened, s.queries.view(), 10, ef);
      EXPECT_EQ(a.ids, b.ids);
      EXPECT_EQ(a.distances, b.distances);
    }
    EXPECT_EQ(opened->memory().total(), idx->memory().total());
  }
}

TEST(api, mismatched_or_corrupt_index_files_are_clear_errors) {
  REQUIRE_SIFT();
  const recommended_params p = params_for("sq8");
  auto idx = build_index(p, rows_of(s.base, 0, 500));
  const auto path = temp_path("mismatch.qidx");
  idx->save(path);
  auto expect_error = [&](const recommended_params& q, const std::string& what) {
    const std::string e = error_of([&] { open_index(path, q); });
    EXPECT_NE(e.find(what), std::string::npos) << e;
    EXPECT_NE(e.find(path.string()), std::string::npos) << e;
  };
  recommended_params q = p;
  q.config.codec = "fp16";
  expect_error(q, "codec 'sq8' does not match the parameter file's 'fp16'");
  q = p;
  q.config.distance = metric::ip;
  expect_error(q, "metric 'l2' does not match");
  q = p;
  q.dim = 96;
  expect_error(q, "dimension 128 does not match the parameter file's dim 96");
  q = p;
  q.config.kind = "faiss:HNSW16";
  expect_error(q, "kind 'hnsw' does not match");

  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(b.data(), static_cast<std::streamsize>(b.size()));
  };
  std::string corrupt = bytes;
  corrupt[corrupt.size() / 2] ^= 0x10;
  write(corrupt);
  expect_error(p, "corrupt");
  write(bytes.substr(0, bytes.size() - 7));
  expect_error(p, "truncated");
  std::string other_version = bytes;
  other_version[8] = 9;  // the u32 format version follows the 8-byte magic
  write(other_version);
  expect_error(p, "unsupported qtune index format version 9");
  write("not an index at all");
  expect_error(p, "not a qtune index file");
  std::filesystem::remove(path);
  expect_error(p, "cannot open");
}

TEST(api, added_vectors_are_encoded_searchable_and_saved) {
  REQUIRE_SIFT();
  for (const char* codec : {"fp32", "sq8"}) {
    SCOPED_TRACE(codec);
    const recommended_params p = params_for(codec, std::string(codec) == "fp32" ? 0 : 3);
    auto idx = build_index(p, rows_of(s.base, 0, 1500));
    const std::size_t bytes_before = idx->memory().resident_bytes;
    EXPECT_EQ(add_vectors(*idx, rows_of(s.base, 1500, 2200)), 1500u);
    EXPECT_EQ(add_vectors(*idx, rows_of(s.base, 2200, 3000)), 2200u);  // grows the graph again
    EXPECT_EQ(idx->size(), 3000u);
    EXPECT_GT(idx->memory().resident_bytes, bytes_before);
    // every added vector finds itself first (distance 0 after rerank or with exact codes)
    std::size_t self = 0;
    std::vector<std::int32_t> ids(10);
    std::vector<float> d(10);
    for (std::size_t i = 1500; i < 3000; i += 7) {
      ASSERT_EQ(search_into(*idx, s.base.row(i), 10, 0, ids.data(), d.data()), 10u);
      self += ids[0] == static_cast<std::int32_t>(i) || d[0] == 0.f;  // sift has exact duplicates
    }
    EXPECT_EQ(self, (3000u - 1500u + 6) / 7);
    // the grown index is as good as one built over everything
    const knn_result truth = exact_knn(s.base.view(), s.queries.view(), metric::l2, 10);
    EXPECT_GE(recall_ids(search(*idx, s.queries.view(), 10), truth, 10), 0.95);
    // and survives a round trip
    const auto path = temp_path(std::string("added-") + codec + ".qidx");
    idx->save(path);
    auto opened = open_index(path, p);
    std::filesystem::remove(path);
    EXPECT_EQ(opened->size(), 3000u);
    EXPECT_EQ(search(*opened, s.queries.view(), 10).ids, search(*idx, s.queries.view(), 10).ids);
    EXPECT_NE(error_of([&] { add_vectors(*idx, {s.base.row(0), 1, 64, 64}); }).find("dimension 64"),
              std::string::npos);
  }
}

TEST(api, faiss_indexes_take_added_vectors_too) {
  REQUIRE_SIFT();
  recommended_params p = params_for("fp32");
  p.config.kind = "faiss:HNSW16";
  auto idx = build_index(p, rows_of(s.base, 0, 1000));
  add_vectors(*idx, rows_of(s.base, 1000, 1500));
  EXPECT_EQ(idx->size(), 1500u);
  std::vector<std::int32_t> ids(5);
  std::vector<float> d(5);
  search_into(*idx, s.base.row(1250), 5, 100, ids.data(), d.data());
  EXPECT_EQ(d[0], 0.f);
}

TEST(api, per_call_ef_and_concurrent_searches) {
  REQUIRE_SIFT();
  auto idx = build_index(params_for("sq8", 2), s.base.view());
  const knn_result truth = exact_knn(s.base.view(), s.queries.view(), metric::l2, 10);
  const double low = recall_ids(search(*idx, s.queries.view(), 10, 10), truth, 10);
  const double high = recall_ids(search(*idx, s.queries.view(), 10, 300), truth, 10);
  EXPECT_LT(low, high);
  EXPECT_EQ(idx->config().ef_search, 64u);  // per-call ef leaves the index setting alone

  // many threads, different ef per thread, each equal to the serial answer for its ef
  const std::size_t efs[] = {10, 40, 64, 300};
  std::vector<knn_result> serial;
  for (std::size_t ef : efs) serial.push_back(search(*idx, s.queries.view(), 10, ef, 1));
  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::int32_t> ids(10);
      std::vector<float> d(10);
      for (int rep = 0; rep < 5; ++rep)
        for (std::size_t q = 0; q < s.queries.rows(); ++q) {
          const std::size_t e = (q + t) % 4;
          search_into(*idx, s.queries.row(q), 10, efs[e], ids.data(), d.data());
          mismatches[t] += !std::equal(ids.begin(), ids.end(), serial[e].ids_of(q));
        }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(api, bad_queries_are_errors) {
  REQUIRE_SIFT();
  auto idx = build_index(params_for("fp32"), rows_of(s.base, 0, 300));
  std::vector<float> q(s.queries.row(0), s.queries.row(0) + 128);
  std::vector<std::int32_t> ids(10);
  std::vector<float> d(10);
  EXPECT_NE(error_of([&] { search_into(*idx, q.data(), 0, 0, ids.data(), d.data()); }).find("k must be > 0"),
            std::string::npos);
  q[17] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_of([&] { search_into(*idx, q.data(), 10, 0, ids.data(), d.data()); }).find("column 17"),
            std::string::npos);
  EXPECT_NE(error_of([&] { search(*idx, {q.data(), 1, 64, 64}, 10); }).find("dimension 64"), std::string::npos);
  // k above the index size pads with -1 / +inf and reports what was found
  std::vector<std::int32_t> many(400);
  std::vector<float> many_d(400);
  EXPECT_EQ(search_into(*idx, s.queries.row(0), 400, 400, many.data(), many_d.data()), 300u);
  EXPECT_EQ(many[300], -1);
  EXPECT_TRUE(std::isinf(many_d[399]));
}

TEST(api, cosine_queries_are_normalised_by_the_api) {
  QTUNE_REQUIRE_DATA_FILE(glove, "glove50-10k/glove50_base.fvecs");
  read_options ro;
  ro.max_rows = 2000;
  const vectors raw = read_vectors(glove, ro);
  recommended_params p = params_for("fp32");
  p.dim = raw.dim();
  p.config.distance = metric::cosine;
  auto idx = build_index(p, raw.view());  // raw rows: build_index normalises a copy
  vectors unit = raw.slice(0, raw.rows());
  unit.normalize_rows("glove");
  const knn_result truth = exact_knn(unit.view(), unit.slice(0, 50).view(), metric::cosine, 10);
  const knn_result found = search(*idx, raw.slice(0, 50).view(), 10, 200);  // raw queries
  EXPECT_GE(recall_ids(found, truth, 10), 0.97);
  for (std::size_t q = 0; q < 50; ++q) EXPECT_NEAR(found.distances_of(q)[0], truth.distances_of(q)[0], 1e-4);
}

TEST(api, public_headers_include_only_the_standard_library_and_qtune) {
  const std::filesystem::path dir = std::filesystem::path(QTUNE_SOURCE_DIR) / "include" / "qtune";
  const std::regex include_re(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
  std::size_t headers = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".hpp") continue;
    ++headers;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, include_re)) continue;
      const std::string name = m[2];
      const bool qtune_header = m[1] == "\"" && name.rfind("qtune/", 0) == 0;
      const bool std_header = m[1] == "<" && name.find('.') == std::string::npos && name.find('/') == std::string::npos;
      EXPECT_TRUE(qtune_header || std_header) << entry.path().filename().string() << ": " << line;
    }
  }
  EXPECT_GE(headers, 10u);
  EXPECT_TRUE(std::filesystem::exists(dir / "qtune.hpp"));
}
