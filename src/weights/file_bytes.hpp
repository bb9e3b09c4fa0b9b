#pragma once
// Whole-file byte I/O for the weight readers/writers (model files are read into memory).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qtune::weights {

/// Reads the whole file; throws qtune::error naming the file when it cannot be opened or read.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);
/// Writes bytes to path (truncating); throws naming the file on failure.
void write_file_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes);
/// "47 47 55 46" for the first n bytes (n <= size checked by the caller).
std::string hex_bytes(const std::uint8_t* p, std::size_t n);

}  // namespace qtune::weights
