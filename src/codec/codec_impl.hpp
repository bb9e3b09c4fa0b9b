#pragma once
// Internal to src/codec: the parsed form of codec names, the factories of each family, the
// kernel slot the distance functions read, aligned buffers and the binary I/O helpers.
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <istream>
#include <memory>
#include <new>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/kernels.hpp"
#include "qtune/codec.hpp"
#include "qtune/error.hpp"

namespace qtune::detail {

static_assert(std::endian::native == std::endian::little, "codec streams are written as raw little-endian");

// --- names ----------------------------------------------------------------------------------

// The parsed form is public (qtune::codec_spec, qtune/codec.hpp); these are its short names here.
using family = codec_family;
using sq_range = codec_sq_range;
using qtune::codec_spec;

/// Parses a codec name (case-insensitive, spaces ignored); throws qtune::error naming it.
codec_spec parse_codec_name(std::string_view name);
/// The range statistic used when a sq name has no suffix.
codec_spec default_sq_range(int bits);

// --- factories (one per family; dim > 0 already checked) ----------------------------------
std::unique_ptr<codec> make_float_codec(const codec_spec& s, std::size_t dim, metric m);
std::unique_ptr<codec> make_sq_codec(const codec_spec& s, std::size_t dim, metric m);
std::unique_ptr<codec> make_pq_codec(const codec_spec& s, std::size_t dim, metric m);
std::unique_ptr<codec> make_bin_codec(std::size_t dim, metric m);
std::unique_ptr<codec> make_rot_codec(std::unique_ptr<codec> inner, std::size_t dim, metric m);

// --- the kernel table the distance functions use ------------------------------------------
// Distance functions are plain function pointers reading their kernels through the params
// block. The table is the active one when the codec was made, refreshed (if the SIMD cap
// changed) each time distance_params() is called, i.e. once per query batch / per query.
class kernel_slot {
 public:
  const kernels::table& get() const noexcept { return *table_.load(std::memory_order_relaxed); }
  void refresh() const noexcept {
    const kernels::table* now = &kernels::active();
    if (table_.load(std::memory_order_relaxed) != now) table_.store(now, std::memory_order_relaxed);
  }

 private:
  mutable std::atomic<const kernels::table*> table_{&kernels::active()};
};

// --- 64-byte aligned float storage -----------------------------------------------------------
struct aligned_free {
  void operator()(float* p) const noexcept { ::operator delete[](p, std::align_val_t(64)); }
};
class aligned_floats {
 public:
  aligned_floats() = default;
  explicit aligned_floats(std::size_t n) { resize(n); }
  void resize(std::size_t n) {
    p_.reset(n ? static_cast<float*>(::operator new[](n * sizeof(float), std::align_val_t(64))) : nullptr);
    if (n) std::memset(p_.get(), 0, n * sizeof(float));
    n_ = n;
  }
  float* data() noexcept { return p_.get(); }
  const float* data() const noexcept { return p_.get(); }
  std::size_t size() const noexcept { return n_; }
  float& operator[](std::size_t i) noexcept { return p_[i]; }
  const float& operator[](std::size_t i) const noexcept { return p_[i]; }

 private:
  std::unique_ptr<float[], aligned_free> p_;
  std::size_t n_ = 0;
};

/// Floats of a prepared-query header (64 bytes): holds per-query constants, keeps the arrays
/// behind it 64-byte aligned.
inline constexpr std::size_t header_floats = 16;

// --- binary I/O -------------------------------------------------------------------------------
class stream_writer {
 public:
  explicit stream_writer(std::ostream& out) : out_(out) {}
  void bytes(const void* p, std::size_t n) {
    out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    QTUNE_CHECK(out_.good(), "codec save: write of ", n, " bytes failed");
  }
  template <class T>
  void pod(T v) { bytes(&v, sizeof v); }
  void floats(const float* p, std::size_t n) { bytes(p, n * sizeof(float)); }

 private:
  std::ostream& out_;
};

class stream_reader {
 public:
  stream_reader(std::istream& in, std::string what) : in_(in), what_(std::move(what)) {}
  void bytes(void* p, std::size_t n, const char* field) {
    in_.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
    const auto got = static_cast<std::size_t>(in_.gcount());
    if (got != n)
      fail(what_, ": stream truncated while reading ", field, " (expected ", n, " bytes, got ", got, ")");
  }
  template <class T>
  T pod(const char* field) {
    T v{};
    bytes(&v, sizeof v, field);
    return v;
  }
  void floats(float* p, std::size_t n, const char* field) { bytes(p, n * sizeof(float), field); }
  /// Reads a 4-byte magic and a u32 version and checks both.
  void expect_header(const char (&magic)[5], std::uint32_t version) {
    char m[4];
    bytes(m, 4, "magic");
    if (std::memcmp(m, magic, 4) != 0)
      fail(what_, ": bad magic '", std::string(m, 4), "', expected '", magic, "'");
    const auto v = pod<std::uint32_t>("version");
    QTUNE_CHECK(v == version, what_, ": unsupported version ", v, ", expected ", version);
  }
  template <class T>
  void expect(T found, T expected, const char* field) {
    QTUNE_CHECK(found == expected, what_, ": ", field, " is ", found, ", expected ", expected);
  }
  const std::string& what() const noexcept { return what_; }

 private:
  std::istream& in_;
  std::string what_;
};

inline void write_header(stream_writer& w, const char (&magic)[5], std::uint32_t version, std::size_t dim) {
  w.bytes(magic, 4);
  w.pod<std::uint32_t>(version);
  w.pod<std::uint64_t>(dim);
}

/// Reads a header written by write_header and checks magic, version and dim.
inline void read_header(stream_reader& r, const char (&magic)[5], std::uint32_t version, std::size_t dim) {
  r.expect_header(magic, version);
  r.expect<std::uint64_t>(r.pod<std::uint64_t>("dim"), dim, "dim");
}

}  // namespace qtune::detail
