// TEXMEX .fvecs / .ivecs / .bvecs: per row a little-endian int32 dimension, then dim values
// (float32 / int32 / uint8). No file header; every row must repeat the same dimension.
#include <cmath>

#include "dataset/dataset_impl.hpp"

namespace qtune::detail {

namespace {

/// Shape of a TEXMEX file after checking the size and every row header it will read.
struct texmex_shape {
  std::size_t rows = 0;  // rows to read (max_rows applied)
  std::size_t dim = 0;
  std::size_t row_bytes = 0;
};

texmex_shape scan_texmex(const std::filesystem::path& path, const mapped_file& m, std::size_t value_bytes,
                         const read_options& opt) {
  const std::size_t size = m.size();
  QTUNE_CHECK(size >= 4, path.string(), ": file is ", size, " bytes, too short for a row header (4 bytes)");
  const std::int32_t d0 = load_i32(m.data());
  check_dim(path, d0, opt.max_dim, "vector 0 (byte offset 0)");
  texmex_shape s;
  s.dim = std::size_t(d0);
  s.row_bytes = 4 + s.dim * value_bytes;
  const std::size_t total = size / s.row_bytes;
  if (size % s.row_bytes != 0) {
    // Report the first row header that is off before blaming truncation, which is the more
    // useful message when a dimension changes mid-file.
    const std::size_t last = size - total * s.row_bytes >= 4 ? total + 1 : total;
    for (std::size_t i = 1; i < last; ++i) {
      const std::int32_t d = load_i32(m.data() + i * s.row_bytes);
      QTUNE_CHECK(d == d0, path.string(), ": vector ", i, " (byte offset ", i * s.row_bytes, ") has dimension ", d,
                  ", expected ", d0, " (the dimension of vector 0)");
    }
    fail(path.string(), ": truncated: file size ", size, " bytes is not a multiple of the row size ", s.row_bytes,
         " (4 + ", s.dim, " * ", value_bytes, "); vector ", total, " at byte offset ", total * s.row_bytes,
         " is incomplete (", size - total * s.row_bytes, " bytes)");
  }
  s.rows = opt.max_rows ? std::min(opt.max_rows, total) : total;
  for (std::size_t i = 1; i < s.rows; ++i) {
    const std::int32_t d = load_i32(m.data() + i * s.row_bytes);
    QTUNE_CHECK(d == d0, path.string(), ": vector ", i, " (byte offset ", i * s.row_bytes, ") has dimension ", d,
                ", expected ", d0, " (the dimension of vector 0)");
  }
  return s;
}

}  // namespace

vectors read_fvecs(const std::filesystem::path& path, const read_options& opt) {
  mapped_file m(path);
  const texmex_shape s = scan_texmex(path, m, sizeof(float), opt);
  // Row i's values start at byte 4 + i * row_bytes: 4-byte aligned because the mapping is
  // page-aligned, so the file can be viewed in place with stride dim + 1 floats.
  const float* data = reinterpret_cast<const float*>(m.data() + 4);
  const matrix_view<float> view{data, s.rows, s.dim, s.dim + 1};
  check_finite(path, view, opt.max_abs);
  const std::size_t len = m.size();
  void* addr = m.release();
  return vectors_builder::mapped(addr, len, data, s.rows, s.dim, s.dim + 1);
}

vectors read_bvecs(const std::filesystem::path& path, const read_options& opt) {
  mapped_file m(path);
  const texmex_shape s = scan_texmex(path, m, 1, opt);
  std::vector<float> out(s.rows * s.dim);
  for (std::size_t i = 0; i < s.rows; ++i) {
    const std::uint8_t* r = m.data() + i * s.row_bytes + 4;
    for (std::size_t j = 0; j < s.dim; ++j) out[i * s.dim + j] = float(r[j]);
  }
  return vectors_builder::heap(std::move(out), s.rows, s.dim);
}

int_matrix read_ivecs(const std::filesystem::path& path, const read_options& opt) {
  mapped_file m(path);
  const texmex_shape s = scan_texmex(path, m, sizeof(std::int32_t), opt);
  int_matrix out;
  out.rows = s.rows;
  out.dim = s.dim;
  out.values.resize(s.rows * s.dim);
  for (std::size_t i = 0; i < s.rows; ++i)
    std::memcpy(out.values.data() + i * s.dim, m.data() + i * s.row_bytes + 4, s.dim * sizeof(std::int32_t));
  return out;
}

}  // namespace qtune::detail

namespace qtune {

namespace {
template <class T, class Get>
void write_texmex(const std::filesystem::path& path, std::size_t rows, std::size_t dim, Get get_row) {
  QTUNE_CHECK(dim > 0 && dim <= std::size_t(INT32_MAX), path.string(), ": cannot write dimension ", dim,
              ", expected 1..2^31-1");
  atomic_file f(path);
  const std::int32_t d = std::int32_t(dim);
  for (std::size_t i = 0; i < rows; ++i) {
    f.write(&d, 4);
    f.write(get_row(i), dim * sizeof(T));
  }
  f.commit();
}
}  // namespace

void write_fvecs(const std::filesystem::path& path, matrix_view<float> x) {
  write_texmex<float>(path, x.rows, x.dim, [&](std::size_t i) { return x.row(i); });
}

void write_ivecs(const std::filesystem::path& path, const int_matrix& ids) {
  QTUNE_CHECK(ids.values.size() == ids.rows * ids.dim, path.string(), ": int_matrix holds ", ids.values.size(),
              " values, expected rows * dim = ", ids.rows * ids.dim);
  write_texmex<std::int32_t>(path, ids.rows, ids.dim, [&](std::size_t i) { return ids.row(i); });
}

void write_bvecs(const std::filesystem::path& path, matrix_view<std::uint8_t> x) {
  write_texmex<std::uint8_t>(path, x.rows, x.dim, [&](std::size_t i) { return x.row(i); });
}

}  // namespace qtune
