// NumPy .npy: the input is the file, read as vectors and ids (dataset readers) and as importance
// weights (weights::read_npy, a reader of its own for float arrays of any rank).
#include "fuzz_common.hpp"
#include "qtune/dataset.hpp"
#include "qtune/weights.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = qtune_fuzz::write_input(data, size, "in.npy");
  qtune::read_options opt;
  opt.max_dim = 1u << 16;
  qtune_fuzz::expect_only_qtune_errors("read_vectors", [&] {
    const qtune::vectors v = qtune::read_vectors(path, opt);
    volatile float sink = 0;  // touch every row: a view past the data is an ASan report
    for (std::size_t i = 0; i < v.rows(); ++i) sink = sink + v.row(i)[0] + v.row(i)[v.dim() - 1];
  });
  qtune_fuzz::expect_only_qtune_errors("read_ids", [&] { qtune::read_ids(path, opt); });
  qtune_fuzz::expect_only_qtune_errors("weights::read_npy", [&] {
    std::vector<std::uint64_t> shape;
    const std::vector<float> w = qtune::weights::read_npy(path, &shape);
    std::uint64_t count = 1;
    for (const std::uint64_t d : shape) count *= d;
    if (count != w.size()) {
      std::fprintf(stderr, "weights::read_npy: %zu values for a shape of %llu\n", w.size(),
                   static_cast<unsigned long long>(count));
      std::abort();
    }
  });
  return 0;
}
