// llama.cpp's legacy binary importance matrix (read_imatrix, as `tune weights --imatrix` reads
// it): the input is the file. What it accepts must keep the reader's promises: named entries,
// and mean squares that are finite and >= 0 (they weight the quantization error).
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "fuzz_common.hpp"
#include "weights/imatrix.hpp"

namespace w = qtune::weights;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = qtune_fuzz::write_input(data, size, "in.imatrix");
  qtune_fuzz::expect_only_qtune_errors("read_imatrix", [&] {
    const w::imatrix im = w::read_imatrix(path);
    for (const auto& [name, e] : im.entries) {
      bool ok = !name.empty() && e.ncall >= 0;
      for (const float v : e.mean_sq) ok = ok && std::isfinite(v) && v >= 0;
      if (!ok) {
        std::fprintf(stderr, "read_imatrix accepted entry '%s' with ncall %d and a value that is negative or not "
                     "finite\n", name.c_str(), e.ncall);
        std::abort();
      }
    }
  });
  return 0;
}
