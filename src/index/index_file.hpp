#pragma once
// The qtune index file container (private to src/index).
//
// Layout (little-endian):
//   magic        8 bytes  "QTUNEIDX"
//   version      u32      index_file_version
//   header_size  u32      bytes of the header text that follows
//   header       text     "key=value\n" lines: kind, codec, m, ef_construction, ef_search, rerank,
//                         metric, seed, graph_source, dim, count
//   payload_size u64
//   checksum     u64      FNV-1a 64 over the payload bytes
//   payload      sections: tag (4 ASCII bytes), size (u64), bytes
//                  CODC  save_codec() output            (hnsw)
//                  GRAF  graph_layout::serialize() bytes (hnsw; version 1 had GRPH, hnswlib's saveIndex)
//                  RRNK  count * dim float32 rows       (hnsw, when full vectors are kept)
//                  FAIS  faiss::write_index() bytes     (faiss)
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "util/hash.hpp"
#include "qtune/index.hpp"

namespace qtune::detail {

/// 2: hnsw graphs are stored as a GRAF section (graph_layout::serialize). Version 1 files (GRPH,
/// hnswlib's saveIndex bytes) are read for faiss indexes; hnsw_index::load refuses them by version.
inline constexpr std::uint32_t index_file_version = 2;

struct index_file {
  std::uint32_t version = index_file_version;  ///< as read (1 or 2); written files get index_file_version
  index_config config;
  std::size_t dim = 0;
  std::size_t count = 0;
  std::vector<std::pair<std::string, std::string>> sections;  ///< (tag, bytes), in file order

  bool has_section(const std::string& tag) const {
    for (const auto& s : sections)
      if (s.first == tag) return true;
    return false;
  }
  /// Bytes of the section `tag`; throws qtune::error naming `path` when it is missing.
  const std::string& section(const std::string& tag, const std::filesystem::path& path) const;
};


/// Writes `f` to `path` atomically (temporary file in the same folder, then rename).
void write_index_file(const std::filesystem::path& path, const index_file& f);
/// Reads and validates a file: magic, version, header keys, sizes, checksum. Every failure is a
/// qtune::error naming the file. header_only: reads just magic, version and header (no payload,
/// no sections, no checksum check), to learn what index a file holds before loading it.
index_file read_index_file(const std::filesystem::path& path, bool header_only = false);

/// A unique temporary file path (for libraries that only read/write named files); removed by
/// the destructor.
class temp_file {
 public:
  temp_file();
  ~temp_file();
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// Whole file as bytes; throws qtune::error naming the file.
std::string read_file_bytes(const std::filesystem::path& path);
void write_file_bytes(const std::filesystem::path& path, const std::string& bytes);

}  // namespace qtune::detail
