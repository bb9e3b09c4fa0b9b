// NumPy .npy vectors and ids (dataset readers): the input is the file.
#include "fuzz_common.hpp"
#include "qtune/dataset.hpp"

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
  return 0;
}
