// Build the index a parameter file describes, save it, open it again, search.
// usage: library_example recommended.yaml base.fvecs queries.fvecs index.qidx
#include <qtune/param_file.hpp>  // load_param_file (qtune::tune)
#include <qtune/qtune.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s PARAMS BASE QUERIES INDEX_FILE\n", argv[0]);
    return 2;
  }
  try {
    const qtune::recommended_params params = qtune::load_param_file(argv[1]);
    const qtune::vectors base = qtune::read_vectors(argv[2]);     // rows x dim floats
    const qtune::vectors queries = qtune::read_vectors(argv[3]);

    std::unique_ptr<qtune::index> built = qtune::build_index(params, base.view());
    built->save(argv[4]);  // header: format version, codec, dim, metric, count, checksum
    std::unique_ptr<qtune::index> index = qtune::open_index(argv[4], params);

    // nq x k ids and distances, row-major; efSearch 0 = the parameter file's
    const qtune::knn_result r = qtune::search(*index, queries.view(), params.k);
    std::printf("%zu vectors, %s %s; query 0:", index->size(), index->config().kind.c_str(),
                index->config().codec.c_str());
    for (std::size_t i = 0; i < r.k; ++i) std::printf(" %d", r.ids_of(0)[i]);
    std::printf("\n");
  } catch (const qtune::error& e) {  // bad file, mismatched index, wrong dimension, ...
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
