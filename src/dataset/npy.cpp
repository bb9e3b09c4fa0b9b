// NumPy .npy vectors and ids: a 2-D C-order array (rows, dim) after the header that
// util/npy_header parses. float32 data at a 4-byte aligned offset is mapped in place.
#include <cmath>

#include "dataset/dataset_impl.hpp"
#include "util/half.hpp"
#include "util/npy_header.hpp"

namespace qtune::detail {

namespace {

enum class dt { f32, f16, i8, u8, i32, i64 };

/// What this reader takes from the header: the element type and the (rows, dim) shape.
struct npy_layout {
  dt type = dt::f32;
  std::size_t item = 4;
  std::size_t rows = 0;
  std::size_t dim = 0;
  std::size_t data_offset = 0;
};

npy_layout parse_npy(const std::filesystem::path& path, const std::uint8_t* b, std::size_t size) {
  const qtune::npy_header file = parse_npy_header(path, b, size);
  npy_layout out;
  out.data_offset = file.data_offset;
  const std::string& descr = file.descr;
  if (descr == "<f4") out.type = dt::f32, out.item = 4;
  else if (descr == "<f2") out.type = dt::f16, out.item = 2;
  else if (descr == "|i1" || descr == "i1" || descr == "<i1") out.type = dt::i8, out.item = 1;
  else if (descr == "|u1" || descr == "u1" || descr == "<u1") out.type = dt::u8, out.item = 1;
  else if (descr == "<i4") out.type = dt::i32, out.item = 4;
  else if (descr == "<i8") out.type = dt::i64, out.item = 8;
  else
    fail(path.string(), ": unsupported .npy dtype '", descr,
         "'; expected little-endian float32 '<f4', float16 '<f2', int8 '|i1', uint8 '|u1' (or int32 '<i4', "
         "int64 '<i8' for ids)");
  QTUNE_CHECK(file.shape.size() == 2, path.string(), ": .npy array has ", file.shape.size(),
              " dimensions, expected a 2-D array (rows, dim)");
  out.rows = file.shape[0];
  out.dim = file.shape[1];  // open_npy checks it against read_options::max_dim (and > 0)
  return out;
}

/// Maps the file, parses and validates the header against the data length.
struct npy_file {
  mapped_file m;
  npy_layout h;
  std::size_t rows;  // after max_rows
};

npy_file open_npy(const std::filesystem::path& path, const read_options& opt) {
  mapped_file m(path);
  npy_layout h = parse_npy(path, m.data(), m.size());
  check_dim(path, std::int64_t(h.dim), opt.max_dim, "array");
  // dim <= max_dim and item <= 8, so row_bytes cannot wrap; rows * row_bytes can (a shape of
  // (2^62, 4) wraps to 0), so compare in rows, not in bytes.
  const std::size_t row_bytes = h.dim * h.item;
  const std::size_t have = m.size() - h.data_offset;
  if (h.rows > have / row_bytes) {
    const bool wraps = h.rows > SIZE_MAX / row_bytes;
    const std::string need = wraps ? std::string("more than 2^64") : std::to_string(h.rows * row_bytes);
    fail(path.string(), ": truncated .npy: header shape (", h.rows, ", ", h.dim, ") needs ", need,
         " data bytes from byte offset ", h.data_offset, ", file has ", have, "; vector ", have / row_bytes,
         " at byte offset ", h.data_offset + (have / row_bytes) * row_bytes, " is incomplete");
  }
  QTUNE_CHECK(h.rows > 0, path.string(), ": .npy array has 0 rows");
  const std::size_t rows = opt.max_rows ? std::min(opt.max_rows, h.rows) : h.rows;
  return {std::move(m), h, rows};
}

}  // namespace

vectors read_npy_vectors(const std::filesystem::path& path, const read_options& opt) {
  npy_file f = open_npy(path, opt);
  const npy_layout& h = f.h;
  const std::uint8_t* data = f.m.data() + h.data_offset;
  const std::size_t n = f.rows * h.dim;
  if (h.type == dt::f32 && h.data_offset % alignof(float) == 0) {
    const float* p = reinterpret_cast<const float*>(data);
    check_finite(path, {p, f.rows, h.dim, h.dim}, opt.max_abs);
    const std::size_t len = f.m.size();
    void* addr = f.m.release();
    return vectors_builder::mapped(addr, len, p, f.rows, h.dim, h.dim);
  }
  std::vector<float> out(n);
  switch (h.type) {
    case dt::f32: std::memcpy(out.data(), data, n * 4); break;  // unaligned data offset: copy
    case dt::f16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t v;
        std::memcpy(&v, data + 2 * i, 2);
        out[i] = fp16_to_fp32(v);
      }
      break;
    case dt::i8:
      for (std::size_t i = 0; i < n; ++i) out[i] = float(std::int8_t(data[i]));
      break;
    case dt::u8:
      for (std::size_t i = 0; i < n; ++i) out[i] = float(data[i]);
      break;
    case dt::i32:
    case dt::i64:
      fail(path.string(), ": .npy dtype is an integer id type (", h.type == dt::i32 ? "<i4" : "<i8",
           "); vectors must be float32, float16, int8 or uint8 (read ids with read_ids)");
  }
  if (h.type == dt::f32 || h.type == dt::f16) check_finite(path, {out.data(), f.rows, h.dim, h.dim}, opt.max_abs);
  return vectors_builder::heap(std::move(out), f.rows, h.dim);
}

int_matrix read_npy_ids(const std::filesystem::path& path, const read_options& opt) {
  npy_file f = open_npy(path, opt);
  const npy_layout& h = f.h;
  QTUNE_CHECK(h.type == dt::i32 || h.type == dt::i64, path.string(),
              ": ids must be an int32 '<i4' or int64 '<i8' .npy array");
  const std::uint8_t* data = f.m.data() + h.data_offset;
  int_matrix out;
  out.rows = f.rows;
  out.dim = h.dim;
  out.values.resize(f.rows * h.dim);
  for (std::size_t i = 0; i < out.values.size(); ++i) {
    if (h.type == dt::i32) {
      std::memcpy(&out.values[i], data + 4 * i, 4);
    } else {
      std::int64_t v;
      std::memcpy(&v, data + 8 * i, 8);
      QTUNE_CHECK(v >= INT32_MIN && v <= INT32_MAX, path.string(), ": id ", v, " at vector ", i / h.dim, " column ",
                  i % h.dim, " does not fit in int32");
      out.values[i] = std::int32_t(v);
    }
  }
  return out;
}

}  // namespace qtune::detail

namespace qtune {

void write_npy(const std::filesystem::path& path, matrix_view<float> x, npy_dtype dtype) {
  using namespace detail;
  const char* descr = "<f4";
  std::size_t item = 4;
  switch (dtype) {
    case npy_dtype::f32: descr = "<f4", item = 4; break;
    case npy_dtype::f16: descr = "<f2", item = 2; break;
    case npy_dtype::i8: descr = "|i1", item = 1; break;
    case npy_dtype::u8: descr = "|u1", item = 1; break;
    case npy_dtype::i32: descr = "<i4", item = 4; break;
  }
  // Convert first, so a value out of range throws before any file is created.
  std::vector<std::uint8_t> data(x.rows * x.dim * item);
  for (std::size_t i = 0; i < x.rows; ++i) {
    const float* r = x.row(i);
    for (std::size_t j = 0; j < x.dim; ++j) {
      const float v = r[j];
      std::uint8_t* o = data.data() + (i * x.dim + j) * item;
      auto check_int = [&](double lo, double hi) {
        QTUNE_CHECK(std::nearbyint(v) == v && v >= lo && v <= hi, path.string(), ": vector ", i, " column ", j,
                    " value ", v, " is not an integer in [", lo, ", ", hi, "] for dtype ", descr);
      };
      switch (dtype) {
        case npy_dtype::f32: std::memcpy(o, &v, 4); break;
        case npy_dtype::f16: {
          const std::uint16_t hv = fp32_to_fp16(v);
          std::memcpy(o, &hv, 2);
          break;
        }
        case npy_dtype::i8: check_int(-128, 127); *o = std::uint8_t(std::int8_t(v)); break;
        case npy_dtype::u8: check_int(0, 255); *o = std::uint8_t(v); break;
        case npy_dtype::i32: {
          check_int(-2147483648.0, 2147483647.0);
          const std::int32_t iv = std::int32_t(v);
          std::memcpy(o, &iv, 4);
          break;
        }
      }
    }
  }
  std::string h = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" +
                  std::to_string(x.rows) + ", " + std::to_string(x.dim) + "), }";
  // Pad with spaces and a final newline so magic + version + length + header is a multiple of 64.
  const std::size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h.push_back('\n');
  QTUNE_CHECK(h.size() <= 65535, path.string(), ": .npy header too long for version 1.0");
  atomic_file f(path);
  const std::uint8_t pre[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  f.write(pre, 8);
  const std::uint16_t hl = std::uint16_t(h.size());
  f.write(&hl, 2);
  f.write(h.data(), h.size());
  f.write(data.data(), data.size());
  f.commit();
}

}  // namespace qtune
