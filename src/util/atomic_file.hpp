#pragma once
// Atomic file writes (temporary file in the destination's folder + fsync + rename): every file
// qtune writes for a reader later (results, parameter files, caches, datasets, reports) goes
// through here. Internal to the library.
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>

namespace qtune {

/// Writes through a temporary file in the destination's directory, renamed into place by commit()
/// (after fflush + fsync). If commit() is not reached the temporary is removed.
class atomic_file {
 public:
  explicit atomic_file(const std::filesystem::path& path);
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;
  ~atomic_file();
  void write(const void* p, std::size_t bytes);
  void commit();
  const std::filesystem::path& temp_path() const noexcept { return tmp_; }
  /// For writers (HDF5) that produce the temporary file themselves: close our handle first.
  void close_handle();

 private:
  std::filesystem::path path_;
  std::filesystem::path tmp_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

/// A unique temporary name beside `path` (same directory, so rename() is atomic).
std::filesystem::path temp_path_for(const std::filesystem::path& path);

/// Writes `text` to `path` atomically (creating the parent folders): an atomic_file, committed.
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

}  // namespace qtune
