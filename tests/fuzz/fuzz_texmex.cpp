// TEXMEX .fvecs / .ivecs / .bvecs: the first input byte picks the format, the rest is the file.
#include "fuzz_common.hpp"
#include "qtune/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const char* const names[] = {"in.fvecs", "in.ivecs", "in.bvecs"};
  const int which = data[0] % 3;
  const auto path = qtune_fuzz::write_input(data + 1, size - 1, names[which]);
  qtune::read_options opt;
  opt.max_dim = 1u << 16;
  qtune_fuzz::expect_only_qtune_errors("read_vectors", [&] {
    const qtune::vectors v = qtune::read_vectors(path, opt);
    volatile float sink = 0;
    for (std::size_t i = 0; i < v.rows(); ++i) sink = sink + v.row(i)[v.dim() - 1];
  });
  if (which == 1) qtune_fuzz::expect_only_qtune_errors("read_ids", [&] { qtune::read_ids(path, opt); });
  return 0;
}
