// Uses only the installed headers and library: builds a small index through the public API,
// checks its answers against brute force, saves and reopens it, adds vectors. Exit 0 = pass.
#include <qtune/qtune.hpp>

#include <cstdio>
#include <random>
#include <vector>

#define EXPECT(cond)                                                    \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::fprintf(stderr, "consumer: check failed: %s (line %d)\n", #cond, __LINE__); \
      return 1;                                                         \
    }                                                                   \
  } while (0)

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
    const qtune::knn_result truth = qtune::exact_knn({base.data(), n, dim, dim}, {queries.data(), nq, dim, dim},
                                                     qtune::metric::l2, k);
    const qtune::knn_result found = qtune::search(*index, {queries.data(), nq, dim, dim}, k);
    const double recall = qtune::recall_ids(found, truth, k);
    std::printf("consumer: qtune %s, %zu vectors, recall@%zu = %.3f\n", qtune::version_string, index->size(), k,
                recall);
    EXPECT(recall >= 0.95);

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
