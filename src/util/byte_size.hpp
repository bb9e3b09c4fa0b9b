#pragma once
// Byte sizes in text. Internal to the library.
#include <cstdint>
#include <string>

namespace qtune {

/// "123", "64MiB", "1.5 GB", "2 gib" (spaces and '_' ignored, unit case-insensitive;
/// B, KB, MB, GB = powers of 1000, KiB, MiB, GiB = powers of 1024). Throws qtune::error otherwise.
std::uint64_t parse_byte_size(const std::string& text);

/// "512.0 B", "1.5 KiB", "64.0 MiB", "2.0 GiB" (one decimal, powers of 1024).
std::string human_bytes(double bytes);

}  // namespace qtune
