// qtune::vectors (mapping or heap storage), hashing, and the small helpers shared by the readers.
#include <sys/mman.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <utility>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "util/hash.hpp"
#include "dataset/dataset_impl.hpp"

namespace qtune {

vectors::storage::~storage() {
  if (map_addr) ::munmap(map_addr, map_len);
}

vectors::vectors(std::vector<float> values, std::size_t rows, std::size_t dim) {
  QTUNE_CHECK(values.size() == rows * dim, "vectors: buffer holds ", values.size(), " floats, expected rows * dim = ",
              rows, " * ", dim, " = ", rows * dim);
  storage_ = std::make_unique<storage>();
  storage_->heap = std::move(values);
  view_ = {storage_->heap.data(), rows, dim, dim};
}

vectors::vectors(vectors&& o) noexcept : storage_(std::move(o.storage_)), view_(o.view_) { o.view_ = {}; }

vectors& vectors::operator=(vectors&& o) noexcept {
  if (this != &o) {
    storage_ = std::move(o.storage_);
    view_ = o.view_;
    o.view_ = {};
  }
  return *this;
}

vectors::~vectors() = default;
vectors::vectors() noexcept = default;

bool vectors::is_mapped() const noexcept { return storage_ && storage_->map_addr != nullptr; }

vectors vectors::slice(std::size_t begin, std::size_t end) const {
  QTUNE_CHECK(begin <= end && end <= rows(), "vectors::slice: range [", begin, ", ", end, ") outside 0..", rows());
  std::vector<float> out((end - begin) * dim());
  for (std::size_t i = begin; i < end; ++i)
    std::memcpy(out.data() + (i - begin) * dim(), row(i), dim() * sizeof(float));
  return vectors(std::move(out), end - begin, dim());
}

vectors vectors::select(const std::vector<std::size_t>& ids) const {
  std::vector<float> out(ids.size() * dim());
  for (std::size_t j = 0; j < ids.size(); ++j) {
    QTUNE_CHECK(ids[j] < rows(), "vectors::select: id ", ids[j], " at position ", j, " >= rows ", rows());
    std::memcpy(out.data() + j * dim(), row(ids[j]), dim() * sizeof(float));
  }
  return vectors(std::move(out), ids.size(), dim());
}

void vectors::normalize_rows(const std::string& what) {
  // Find the zero row before copying, so a failure leaves *this untouched.
  std::vector<float> norms(rows());
  for (std::size_t i = 0; i < rows(); ++i) {
    const float* r = row(i);
    double s = 0;
    for (std::size_t j = 0; j < dim(); ++j) s += double(r[j]) * r[j];
    QTUNE_CHECK(s > 0 && std::isfinite(s), what, ": vector ", i,
                " has zero (or non-finite) L2 norm, cannot normalise it for cosine distance");
    norms[i] = float(1.0 / std::sqrt(s));
  }
  if (is_mapped() || !view_.contiguous()) *this = slice(0, rows());
  float* data = storage_->heap.data();
  for (std::size_t i = 0; i < rows(); ++i)
    for (std::size_t j = 0; j < dim(); ++j) data[i * dim() + j] *= norms[i];
}

vectors vectors_builder::mapped(void* addr, std::size_t len, const float* data, std::size_t rows, std::size_t dim,
                                std::size_t stride) {
  vectors v;
  v.storage_ = std::make_unique<vectors::storage>();
  v.storage_->map_addr = addr;
  v.storage_->map_len = len;
  v.view_ = {data, rows, dim, stride};
  return v;
}

vectors vectors_builder::heap(std::vector<float> values, std::size_t rows, std::size_t dim) {
  return vectors(std::move(values), rows, dim);
}

// --- hashing ----------------------------------------------------------------------------------


std::string content_hash(matrix_view<float> x) {
  // XXH3-64 (one streaming state): shape first (as two little-endian uint64), then the values
  // row by row (stride ignored), so a mapped .fvecs and its heap copy hash the same. XXH3 runs
  // at memory speed; the byte-serial FNV-1a it replaces took ~1 s per GB.
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  const std::uint64_t shape[2] = {x.rows, x.dim};
  XXH3_64bits_update(&st, shape, sizeof shape);
  if (x.contiguous() && x.rows > 0) XXH3_64bits_update(&st, x.data, x.rows * x.dim * sizeof(float));
  else
    for (std::size_t i = 0; i < x.rows; ++i) XXH3_64bits_update(&st, x.row(i), x.dim * sizeof(float));
  return hex16(XXH3_64bits_digest(&st));
}

std::string file_hash(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  QTUNE_CHECK(in, path.string(), ": cannot open file for hashing");
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    XXH3_64bits_update(&st, buf.data(), std::size_t(in.gcount()));
  }
  QTUNE_CHECK(in.eof(), path.string(), ": read error while hashing");
  return hex16(XXH3_64bits_digest(&st));
}

namespace detail {

void check_finite(const std::filesystem::path& path, matrix_view<float> x, float max_abs) {
  check_values(x, path.string(), max_abs);
}

void check_dim(const std::filesystem::path& path, std::int64_t dim, std::size_t max_dim, const char* where) {
  QTUNE_CHECK(dim > 0, path.string(), ": ", where, " dimension is ", dim, ", expected > 0");
  QTUNE_CHECK(std::uint64_t(dim) <= max_dim, path.string(), ": ", where, " dimension is ", dim,
              ", larger than read_options::max_dim = ", max_dim, " (corrupt or wrong format?)");
}

}  // namespace detail
}  // namespace qtune

namespace qtune {

void check_values(matrix_view<float> x, const std::string& what, float max_abs) {
  for (std::size_t i = 0; i < x.rows; ++i) {
    const float* r = x.row(i);
    for (std::size_t j = 0; j < x.dim; ++j) {
      // One comparison per value; NaN fails it too.
      if (!(std::fabs(r[j]) <= max_abs)) {
        if (!std::isfinite(r[j])) fail(what, ": vector ", i, " column ", j, " is ", r[j], ", expected a finite value");
        fail(what, ": vector ", i, " column ", j, " is ", r[j], ", outside [-1e15, 1e15]: float32 distances over "
             "values this large overflow (scale the data down)");
      }
    }
  }
}

}  // namespace qtune
