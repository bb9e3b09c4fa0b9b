// IDX (MNIST) images and labels, plain and gzip. First input byte: 0 = the rest is the file as is
// (a seed may itself be a .gz), 1 = the rest is gzip-compressed here first, so the fuzzer explores
// the decompressed layout too.
#include <zlib.h>

#include <vector>

#include "fuzz_common.hpp"
#include "qtune/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t* body = data + 1;
  std::size_t n = size - 1;
  std::vector<std::uint8_t> packed;
  if (data[0] & 1) {
    packed.resize(compressBound(uLong(n)) + 32);
    // gzip wrapper (windowBits 15 + 16), as gzip(1) writes it.
    z_stream z{};
    deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = const_cast<Bytef*>(body);
    z.avail_in = uInt(n);
    z.next_out = packed.data();
    z.avail_out = uInt(packed.size());
    deflate(&z, Z_FINISH);
    packed.resize(z.total_out);
    deflateEnd(&z);
    body = packed.data();
    n = packed.size();
  }
  const auto path = qtune_fuzz::write_input(body, n, "in-idx3-ubyte.gz");
  qtune::read_options opt;
  opt.max_dim = 1u << 16;
  qtune_fuzz::expect_only_qtune_errors("read_vectors", [&] { qtune::read_vectors(path, opt); });
  qtune_fuzz::expect_only_qtune_errors("read_ids", [&] { qtune::read_ids(path, opt); });
  return 0;
}
