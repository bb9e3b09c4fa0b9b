#pragma once
// Hashing: FNV-1a 64-bit, the hash behind every content key and checksum qtune writes (dataset
// and spec hashes, index-file and ground-truth-cache checksums). Internal to the library.
// Header-only and free of STL functions except hex16/fnv1a_hex.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace qtune {

inline constexpr std::uint64_t fnv1a_offset = 0xcbf29ce484222325ull;
inline constexpr std::uint64_t fnv1a_prime = 0x100000001b3ull;

/// FNV-1a over n bytes, continuing from h (chain calls to hash several buffers as one).
inline std::uint64_t fnv1a64(const void* data, std::size_t n, std::uint64_t h = fnv1a_offset) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * fnv1a_prime;
  return h;
}

/// An 8-lane variant for large buffers: a byte-serial FNV has one multiply per byte on its
/// critical path; eight interleaved lanes folded at the end do not. Not equal to fnv1a64.
inline std::uint64_t fnv1a64_8lanes(const void* data, std::size_t n, std::uint64_t h = fnv1a_offset) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t lanes[8];
  for (int i = 0; i < 8; ++i) lanes[i] = h + std::uint64_t(i);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] = (lanes[j] ^ p[i + std::size_t(j)]) * fnv1a_prime;
  for (; i < n; ++i) lanes[0] = (lanes[0] ^ p[i]) * fnv1a_prime;
  std::uint64_t out = h;
  for (int j = 0; j < 8; ++j) out = (out ^ lanes[j]) * fnv1a_prime;
  return out;
}

/// 16 lower-case hex digits.
inline std::string hex16(std::uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

/// hex16(fnv1a64(bytes)): the spec hash and other content keys.
inline std::string fnv1a_hex(std::string_view bytes) { return hex16(fnv1a64(bytes.data(), bytes.size())); }

}  // namespace qtune
