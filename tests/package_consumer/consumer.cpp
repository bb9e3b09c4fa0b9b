// A tiny search service built against the installed package: only <qtune/qtune.hpp> and
// qtune::core (no tuner, no yaml-cpp, no report). Builds a small index through the public API,
// checks its answers against brute force, saves and reopens it, adds vectors. Exit 0 = pass.
#include <qtune/qtune.hpp>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <vector>

#define EXPECT(cond)                                                    \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::fprintf(stderr, "consumer: check failed: %s (line %d)\n", #cond, __LINE__); \
      return 1;                                                         \
    }                                                                   \
  } while (0)

// Brute-force k nearest ids (squared L2) of each query, to check the index against.
std::vector<std::vector<std::int32_t>> brute_force(const std::vector<float>& base, const std::vector<float>& queries,
                                                   std::size_t dim, std::size_t k) {
  const std::size_t n = base.size() / dim, nq = queries.size() / dim;
  std::vector<std::vector<std::int32_t>> out(nq);
  std::vector<std::pair<float, std::int32_t>> d(n);
  for (std::size_t q = 0; q < nq; ++q) {
    for (std::size_t i = 0; i < n; ++i) {
      float s = 0;
      for (std::size_t j = 0; j < dim; ++j) {
        const float t = base[i * dim + j] - queries[q * dim + j];
        s += t * t;
      }
      d[i] = {s, static_cast<std::int32_t>(i)};
    }
    std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(k), d.end());
    for (std::size_t r = 0; r < k; ++r) out[q].push_back(d[r].second);
  }
  return out;
}

// recall@k of found (nq x k ids, row-major) against truth.
double recall(const qtune::knn_result& found, const std::vector<std::vector<std::int32_t>>& truth, std::size_t k) {
  std::size_t hits = 0;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    const std::set<std::int32_t> t(truth[q].begin(), truth[q].end());
    for (std::size_t r = 0; r < k; ++r) hits += t.count(found.ids[q * k + r]);
  }
  return static_cast<double>(hits) / static_cast<double>(truth.size() * k);
}

int main(int argc, char** argv) {
  const char* index_path = argc > 1 ? argv[1] : "consumer.qidx";
  constexpr std::size_t n = 2000, dim = 16, nq = 50, k = 5;
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> base(n * dim), queries(nq * dim);
  for (auto& v : base) v = g(rng);
  for (auto& v : queries) v = g(rng);

  qtune::recommended_params params;
  params.dim = dim;
  params.k = k;
  params.config.kind = "hnsw";
  params.config.codec = "fp32";
  params.config.ef_search = 200;

  try {
    auto index = qtune::build_index(params, {base.data(), n, dim, dim});
    const auto truth = brute_force(base, queries, dim, k);
    const qtune::knn_result found = qtune::search(*index, {queries.data(), nq, dim, dim}, k);
    const double r = recall(found, truth, k);
    std::printf("consumer: qtune %s, %zu vectors, recall@%zu = %.3f\n", qtune::version_string, index->size(), k, r);
    EXPECT(r >= 0.95);

    index->save(index_path);
    auto reopened = qtune::open_index(index_path, params);
    EXPECT(qtune::search(*reopened, {queries.data(), nq, dim, dim}, k).ids == found.ids);

    const std::size_t first = qtune::add_vectors(*reopened, {queries.data(), nq, dim, dim});
    EXPECT(first == n && reopened->size() == n + nq);
    std::vector<std::int32_t> ids(k);
    std::vector<float> dist(k);
    EXPECT(qtune::search_into(*reopened, queries.data() + 3 * dim, k, 0, ids.data(), dist.data()) == k);
    EXPECT(ids[0] == static_cast<std::int32_t>(n + 3) && dist[0] == 0.f);  // an added vector finds itself

    params.dim = dim + 1;
    bool rejected = false;
    try {
      qtune::open_index(index_path, params);
    } catch (const qtune::error& e) {
      rejected = true;
      std::printf("consumer: mismatch rejected: %s\n", e.what());
    }
    EXPECT(rejected);
  } catch (const qtune::error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
  std::printf("consumer: ok\n");
  return 0;
}
