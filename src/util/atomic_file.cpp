// Atomic file writes: a temporary beside the destination, flushed and fsynced, then renamed, so
// a crash leaves either the old file or the whole new one.
#include "util/atomic_file.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <system_error>

#include "qtune/error.hpp"

namespace qtune {

namespace {
std::string errno_text() { return std::generic_category().message(errno); }
}  // namespace

std::filesystem::path temp_path_for(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path t = path;
  t += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  return t;
}

atomic_file::atomic_file(const std::filesystem::path& path) : path_(path), tmp_(temp_path_for(path)) {
  f_ = std::fopen(tmp_.c_str(), "wb");
  QTUNE_CHECK(f_, path.string(), ": cannot create temporary file ", tmp_.string(), ": ", errno_text());
}

atomic_file::~atomic_file() {
  if (f_) std::fclose(f_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

void atomic_file::write(const void* p, std::size_t bytes) {
  QTUNE_CHECK(f_, path_.string(), ": write after close");
  QTUNE_CHECK(bytes == 0 || std::fwrite(p, 1, bytes, f_) == bytes, path_.string(), ": write of ", bytes,
              " bytes failed: ", errno_text());
}

void atomic_file::close_handle() {
  if (f_) {
    const int r = std::fclose(f_);
    f_ = nullptr;
    QTUNE_CHECK(r == 0, path_.string(), ": closing temporary file failed: ", errno_text());
  }
}

void atomic_file::commit() {
  // On disk before the rename, so a crash leaves the old file or the whole new one.
  QTUNE_CHECK(!f_ || (std::fflush(f_) == 0 && ::fsync(::fileno(f_)) == 0), path_.string(),
              ": flushing temporary file failed: ", errno_text());
  close_handle();
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  QTUNE_CHECK(!ec, path_.string(), ": cannot rename temporary file into place: ", ec.message());
  committed_ = true;
}

void write_file_atomic(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  atomic_file out(path);  // temporary beside path; flushed, fsynced and renamed by commit()
  out.write(text.data(), text.size());
  out.commit();
}

}  // namespace qtune
