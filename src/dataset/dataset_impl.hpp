#pragma once
// Private helpers shared by the dataset readers and writers (not installed).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "qtune/dataset.hpp"
#include "qtune/error.hpp"
#include "util/atomic_file.hpp"

static_assert(std::endian::native == std::endian::little,
              "qtune's readers assume a little-endian host (the formats are little-endian)");

namespace qtune {

/// What a vectors object owns: a read-only file mapping (addr/len) or a heap buffer.
struct vectors::storage {
  void* map_addr = nullptr;      // munmap'ed in the destructor when non-null
  std::size_t map_len = 0;
  std::vector<float> heap;       // used when map_addr == nullptr

  storage() = default;
  storage(const storage&) = delete;
  storage& operator=(const storage&) = delete;
  ~storage();
};

namespace detail {

/// A read-only, private mapping of a whole file. Empty files are rejected ("file is empty").
/// Movable; unmaps on destruction unless release()d.
class mapped_file {
 public:
  explicit mapped_file(const std::filesystem::path& path);
  mapped_file(mapped_file&& o) noexcept;
  mapped_file& operator=(mapped_file&&) = delete;
  mapped_file(const mapped_file&) = delete;
  ~mapped_file();

  const std::uint8_t* data() const noexcept { return static_cast<const std::uint8_t*>(addr_); }
  std::size_t size() const noexcept { return size_; }
  /// Gives up ownership of the mapping (the caller munmaps addr, size).
  void* release() noexcept {
    void* a = addr_;
    addr_ = nullptr;
    return a;
  }

 private:
  void* addr_ = nullptr;
  std::size_t size_ = 0;
};

/// Reads a whole file into memory, or its first max_bytes bytes; gzip input (magic 1f 8b) is
/// decompressed with zlib, and never beyond max_bytes decompressed bytes.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path, bool* was_gzip = nullptr,
                                          std::size_t max_bytes = SIZE_MAX);

/// Throws naming row and column of the first NaN/Inf, or value beyond +-max_abs, in a float view.
void check_finite(const std::filesystem::path& path, matrix_view<float> x, float max_abs);

/// Throws unless 0 < dim <= max_dim.
void check_dim(const std::filesystem::path& path, std::int64_t dim, std::size_t max_dim, const char* where);

inline std::int32_t load_i32(const std::uint8_t* p) noexcept {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}

// Format readers (each in its own .cpp).
vectors read_fvecs(const std::filesystem::path& path, const read_options& opt);
vectors read_bvecs(const std::filesystem::path& path, const read_options& opt);
int_matrix read_ivecs(const std::filesystem::path& path, const read_options& opt);
vectors read_npy_vectors(const std::filesystem::path& path, const read_options& opt);
int_matrix read_npy_ids(const std::filesystem::path& path, const read_options& opt);
vectors read_hdf5_vectors(const std::filesystem::path& path, const std::string& dataset,
                          const read_options& opt);
int_matrix read_hdf5_ids(const std::filesystem::path& path, const std::string& dataset,
                         const read_options& opt);
vectors read_idx_vectors(const std::filesystem::path& path, const read_options& opt);
int_matrix read_idx_ids(const std::filesystem::path& path, const read_options& opt);

}  // namespace detail

/// Constructs vectors from a mapping or a heap buffer (the friend named in dataset.hpp).
class vectors_builder {
 public:
  /// Takes ownership of the mapping [addr, addr + len); rows start at `data` with `stride`.
  static vectors mapped(void* addr, std::size_t len, const float* data, std::size_t rows,
                        std::size_t dim, std::size_t stride);
  static vectors heap(std::vector<float> values, std::size_t rows, std::size_t dim);
};

}  // namespace qtune
