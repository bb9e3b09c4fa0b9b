// IDX files of (Fashion-)MNIST: big-endian magic 0x00000803 (uint8, 3-D: n x rows x cols images,
// flattened to n vectors of rows * cols) or 0x00000801 (uint8, 1-D labels), then big-endian
// uint32 sizes and the data. gzip input is detected by its magic bytes 1f 8b.
#include "dataset/dataset_impl.hpp"

namespace qtune::detail {

namespace {

struct idx_data {
  std::vector<std::uint8_t> bytes;
  std::size_t rows = 0;
  std::size_t dim = 0;
  std::size_t offset = 0;  // where the values start
};

// deflate expands at most ~1032:1; an IDX header declaring more than this times the compressed
// file is a corrupt file or a decompression bomb.
constexpr std::uint64_t max_gzip_ratio = 1100;

idx_data load_idx(const std::filesystem::path& path, const read_options& opt) {
  idx_data d;
  bool gz = false;
  // The header first (at most 4 + 4 * 3 bytes), so the data is read (and decompressed) only as
  // far as the header declares and max_rows asks.
  const std::vector<std::uint8_t> head = read_file_bytes(path, &gz, 16);
  const char* what = gz ? " (decompressed)" : "";
  QTUNE_CHECK(head.size() >= 4, path.string(), ": truncated IDX header: ", head.size(), " bytes", what);
  const std::uint32_t magic = load_be32(head.data());
  QTUNE_CHECK(magic == 0x00000803u || magic == 0x00000801u, path.string(), ": bad IDX magic 0x", std::hex, magic,
              std::dec, " at byte offset 0", what, ", expected 0x00000803 (uint8 images) or 0x00000801 (uint8 labels)");
  const std::size_t ndim = magic & 0xff;
  QTUNE_CHECK(head.size() >= 4 + 4 * ndim, path.string(), ": truncated IDX header: ", head.size(), " bytes", what,
              ", expected ", 4 + 4 * ndim);
  d.rows = load_be32(head.data() + 4);
  d.dim = 1;
  for (std::size_t i = 1; i < ndim; ++i) d.dim *= load_be32(head.data() + 4 + 4 * i);  // <= 2^64 - 1: no wrap
  d.offset = 4 + 4 * ndim;
  check_dim(path, std::int64_t(std::min<std::size_t>(d.dim, INT64_MAX)), opt.max_dim, "IDX image");
  QTUNE_CHECK(d.rows > 0, path.string(), ": IDX file holds 0 items");
  const std::size_t declared = d.rows * d.dim;  // rows < 2^32, dim <= max_dim: no wrap
  if (gz) {
    const std::uint64_t file_bytes = std::filesystem::file_size(path);
    QTUNE_CHECK(declared <= file_bytes * max_gzip_ratio, path.string(), ": IDX header declares ", d.rows, " items of ",
                d.dim, " bytes (", declared, " bytes), more than a gzip stream of ", file_bytes,
                " bytes can hold (corrupt file or decompression bomb)");
  }
  const std::size_t rows = opt.max_rows ? std::min(d.rows, opt.max_rows) : d.rows;
  d.bytes = read_file_bytes(path, &gz, d.offset + rows * d.dim);
  const std::size_t need = rows * d.dim;
  const std::size_t have = d.bytes.size() - d.offset;
  QTUNE_CHECK(have >= need, path.string(), ": truncated IDX data", what, ": header says ", d.rows, " items of ", d.dim,
              " bytes (", declared, " bytes from byte offset ", d.offset, "), found ", have, "; item ", have / d.dim,
              " at byte offset ", d.offset + (have / d.dim) * d.dim, " is incomplete");
  d.rows = rows;
  return d;
}

}  // namespace

vectors read_idx_vectors(const std::filesystem::path& path, const read_options& opt) {
  const idx_data d = load_idx(path, opt);
  std::vector<float> out(d.rows * d.dim);
  const std::uint8_t* p = d.bytes.data() + d.offset;
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = float(p[i]);
  return vectors_builder::heap(std::move(out), d.rows, d.dim);
}

int_matrix read_idx_ids(const std::filesystem::path& path, const read_options& opt) {
  const idx_data d = load_idx(path, opt);
  int_matrix out;
  out.rows = d.rows;
  out.dim = d.dim;
  out.values.assign(d.bytes.begin() + std::ptrdiff_t(d.offset),
                    d.bytes.begin() + std::ptrdiff_t(d.offset + d.rows * d.dim));
  return out;
}

}  // namespace qtune::detail
