// GGUF model files (read_gguf): the input is the file. A model that loads is dequantized tensor by
// tensor (small tensors only), as `tune weights stats` would.
#include "fuzz_common.hpp"
#include "qtune/weights.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = qtune_fuzz::write_input(data, size, "in.gguf");
  qtune_fuzz::expect_only_qtune_errors("read_gguf", [&] {
    const qtune::weights::model m = qtune::weights::read_gguf(path);
    for (const auto& t : m.tensors)
      if (t.n_values() <= (1u << 16)) (void)m.to_float(t);
  });
  return 0;
}
