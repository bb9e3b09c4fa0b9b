// The ground-truth disk cache: hits, larger-k entries, corruption, atomic files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"

namespace {

namespace fs = std::filesystem;
using qtune::matrix_view;
using qtune::metric;

struct temp_dir {
  fs::path path;
  temp_dir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("qtune_gt_cache_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<float> random_matrix(std::size_t n, std::size_t dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n * dim);
  for (auto& v : x) v = normal(rng);
  return x;
}

std::vector<fs::path> entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

struct fixture_data {
  std::size_t n = 800, nq = 30, dim = 24;
  std::vector<float> base = random_matrix(n, dim, 1);
  std::vector<float> queries = random_matrix(nq, dim, 2);
  matrix_view<float> b() const { return {base.data(), n, dim, dim}; }
  matrix_view<float> q() const { return {queries.data(), nq, dim, dim}; }
};

TEST(ground_truth_cache, hit_returns_identical_result_without_recomputing) {
  temp_dir dir;
  fixture_data d;
  const auto calls0 = qtune::exact_knn_call_count();
  const auto first = qtune::cached_exact_knn(d.b(), d.q(), metric::l2, 20, dir.path);
  EXPECT_EQ(qtune::exact_knn_call_count(), calls0 + 1);
  const auto files = entries(dir.path);
  ASSERT_EQ(files.size(), 1u) << "one entry, no temporary file left behind";
  EXPECT_EQ(files[0].extension(), ".knn");
  const auto mtime = fs::last_write_time(files[0]);

  const auto second = qtune::cached_exact_knn(d.b(), d.q(), metric::l2, 20, dir.path);
  EXPECT_EQ(qtune::exact_knn_call_count(), calls0 + 1) << "a cache hit must not recompute";
  EXPECT_EQ(fs::last_write_time(files[0]), mtime);
  EXPECT_EQ(second.ids, first.ids);
  EXPECT_EQ(second.distances, first.distances);
  const auto direct = qtune::exact_knn(d.b(), d.q(), metric::l2, 20);
  EXPECT_EQ(first.ids, direct.ids);
}

TEST(ground_truth_cache, larger_k_entry_serves_smaller_k) {
  temp_dir dir;
  fixture_data d;
  const auto big = qtune::cached_exact_knn(d.b(), d.q(), metric::ip, 50, dir.path);
  const auto calls = qtune::exact_knn_call_count();
  const auto small = qtune::cached_exact_knn(d.b(), d.q(), metric::ip, 7, dir.path);
  EXPECT_EQ(qtune::exact_knn_call_count(), calls);
  ASSERT_EQ(small.k, 7u);
  for (std::size_t q = 0; q < d.nq; ++q)
    for (std::size_t j = 0; j < 7; ++j) {
      EXPECT_EQ(small.ids_of(q)[j], big.ids_of(q)[j]);
      EXPECT_EQ(small.distances_of(q)[j], big.distances_of(q)[j]);
    }
  // A larger k than stored is computed (and stored) anew.
  qtune::cached_exact_knn(d.b(), d.q(), metric::ip, 60, dir.path);
  EXPECT_EQ(qtune::exact_knn_call_count(), calls + 1);
}

TEST(ground_truth_cache, key_depends_on_metric_and_content) {
  temp_dir dir;
  fixture_data d;
  const auto calls = qtune::exact_knn_call_count();
  qtune::cached_exact_knn(d.b(), d.q(), metric::l2, 5, dir.path);
  qtune::cached_exact_knn(d.b(), d.q(), metric::ip, 5, dir.path);
  auto changed = d.queries;
  changed[3] += 1.0f;
  const auto r = qtune::cached_exact_knn(d.b(), {changed.data(), d.nq, d.dim, d.dim}, metric::l2, 5, dir.path);
  EXPECT_EQ(qtune::exact_knn_call_count(), calls + 3);
  EXPECT_EQ(r.ids, qtune::exact_knn(d.b(), {changed.data(), d.nq, d.dim, d.dim}, metric::l2, 5).ids);
}

TEST(ground_truth_cache, corrupt_or_truncated_entry_is_recomputed) {
  temp_dir dir;
  fixture_data d;
  const auto good = qtune::cached_exact_knn(d.b(), d.q(), metric::l2, 10, dir.path);
  const auto file = entries(dir.path).at(0);
  {
    // Flip one byte of the payload (an id): the checksum must catch it.
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(96 + 40);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x5a;
    f.seekp(96 + 40);
    f.write(&c, 1);
  }
  auto calls = qtune::exact_knn_call_count();
  auto again = qtune::cached_exact_knn(d.b(), d.q(), metric::l2, 10, dir.path);
  EXPECT_EQ(qtune::exact_knn_call_count(), calls + 1);
  EXPECT_EQ(again.ids, good.ids);
  EXPECT_EQ(again.distances, good.distances);

  fs::resize_file(file, fs::file_size(file) - 7);
  calls = qtune::exact_knn_call_count();
  again = qtune::cached_exact_knn(d.b(), d.q(), metric::l2, 10, dir.path);
  EXPECT_EQ(qtune::exact_knn_call_count(), calls + 1);
  EXPECT_EQ(again.ids, good.ids);
  // Recomputed and rewritten: the next call hits again.
  qtune::cached_exact_knn(d.b(), d.q(), metric::l2, 10, dir.path);
  EXPECT_EQ(qtune::exact_knn_call_count(), calls + 1);
}

TEST(ground_truth_cache, default_dir_follows_environment) {
  const char* old = std::getenv("QTUNE_CACHE_DIR");
  const std::string saved = old ? old : "";
  ::setenv("QTUNE_CACHE_DIR", "/tmp/qtune-cache-test-dir", 1);
  EXPECT_EQ(qtune::default_ground_truth_cache_dir(), fs::path("/tmp/qtune-cache-test-dir"));
  if (old) ::setenv("QTUNE_CACHE_DIR", saved.c_str(), 1);
  else ::unsetenv("QTUNE_CACHE_DIR");
  EXPECT_FALSE(qtune::default_ground_truth_cache_dir().empty());
}

TEST(ground_truth_io, write_read_round_trip) {
  temp_dir dir;
  fs::create_directories(dir.path);
  qtune::knn_result r;
  r.nq = 2;
  r.k = 3;
  r.ids = {4, 1, -1, 0, 2, 3};
  r.distances = {0.5f, 1.0f, std::numeric_limits<float>::infinity(), 0.0f, 2.0f, 3.5f};
  qtune::write_knn(r, dir.path / "gt.ivecs");
  EXPECT_TRUE(fs::exists(dir.path / "gt.fvecs"));
  const auto back = qtune::read_knn(dir.path / "gt.ivecs");
  EXPECT_EQ(back.nq, 2u);
  EXPECT_EQ(back.k, 3u);
  EXPECT_EQ(back.ids, r.ids);
  EXPECT_EQ(back.distances, r.distances);
  // Without distances beside them, only ids come back.
  fs::remove(dir.path / "gt.fvecs");
  const auto ids_only = qtune::read_knn(dir.path / "gt.ivecs");
  EXPECT_EQ(ids_only.ids, r.ids);
  EXPECT_TRUE(ids_only.distances.empty());
}

}  // namespace
