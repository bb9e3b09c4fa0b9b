#pragma once
// The header of a NumPy .npy file, parsed in one place for every reader (the dataset's vectors
// and ids, the weights' importance arrays): magic "\x93NUMPY", version 1.0, 2.0 or 3.0, the
// header length (uint16 for 1.0, uint32 after), then a Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
// padded with spaces. Each reader maps `descr` and `shape` to what it accepts.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qtune {

struct npy_header {
  std::string descr;                 ///< the dtype string, e.g. "<f4", "|u1"
  std::vector<std::uint64_t> shape;  ///< C order; empty for a 0-d array
  std::size_t data_offset = 0;       ///< the first data byte
};

/// Parses the header of the `size` bytes at `b`. Throws qtune::error naming `path` and the byte
/// offset or the header text on: a bad magic or version, a header running past the end, a header
/// that is not a dict literal, a missing or malformed 'descr', 'fortran_order' or 'shape',
/// fortran_order True (only C order is supported), or a shape entry that is not a non-negative
/// integer below 2^63. It does not check the data length (the readers do, per dtype).
npy_header parse_npy_header(const std::filesystem::path& path, const std::uint8_t* b, std::size_t size);

}  // namespace qtune
