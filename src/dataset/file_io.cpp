// File plumbing for the dataset readers and writers: read-only mappings, whole-file reads
// (gzip detected by magic bytes, not by extension). Atomic writes are util/atomic_file.hpp.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "dataset/dataset_impl.hpp"

namespace qtune::detail {

namespace {
std::string errno_text() { return std::generic_category().message(errno); }

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

mapped_file::mapped_file(const std::filesystem::path& path) {
  fd_guard g{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  QTUNE_CHECK(g.fd >= 0, path.string(), ": cannot open: ", errno_text());
  struct stat st {};
  QTUNE_CHECK(::fstat(g.fd, &st) == 0, path.string(), ": cannot stat: ", errno_text());
  QTUNE_CHECK(S_ISREG(st.st_mode), path.string(), ": not a regular file");
  QTUNE_CHECK(st.st_size > 0, path.string(), ": file is empty (0 bytes), expected vector data");
  size_ = std::size_t(st.st_size);
  void* a = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, g.fd, 0);
  QTUNE_CHECK(a != MAP_FAILED, path.string(), ": mmap of ", size_, " bytes failed: ", errno_text());
  addr_ = a;
}

mapped_file::mapped_file(mapped_file&& o) noexcept : addr_(o.addr_), size_(o.size_) { o.addr_ = nullptr; }

mapped_file::~mapped_file() {
  if (addr_) ::munmap(addr_, size_);
}

std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path, bool* was_gzip, std::size_t max_bytes) {
  std::vector<std::uint8_t> out;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    QTUNE_CHECK(f, path.string(), ": cannot open: ", errno_text());
    unsigned char magic[2] = {0, 0};
    const std::size_t got = std::fread(magic, 1, 2, f);
    std::fclose(f);
    QTUNE_CHECK(got > 0, path.string(), ": file is empty (0 bytes)");
    const bool gz = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (was_gzip) *was_gzip = gz;
    if (!gz) {
      mapped_file m(path);
      out.assign(m.data(), m.data() + std::min(m.size(), max_bytes));
      return out;
    }
  }
  gzFile g = ::gzopen(path.c_str(), "rb");
  QTUNE_CHECK(g, path.string(), ": cannot open gzip stream");
  ::gzbuffer(g, 1 << 17);
  std::size_t n = 0;
  out.resize(std::min<std::size_t>(1 << 20, max_bytes));
  for (;;) {
    if (n == max_bytes) break;  // decompress no more than asked (a gzip bomb stops here)
    if (n == out.size()) out.resize(std::min(out.size() * 2, max_bytes));
    const std::size_t want = std::min<std::size_t>(out.size() - n, 1u << 30);
    const int r = ::gzread(g, out.data() + n, unsigned(want));
    if (r < 0) {
      int code = 0;
      const std::string msg = ::gzerror(g, &code);
      ::gzclose(g);
      fail(path.string(), ": gzip error after ", n, " decompressed bytes: ", msg);
    }
    if (r == 0) break;
    n += std::size_t(r);
  }
  // gzread returns 0 at a truncated stream too; gzerror tells (Z_BUF_ERROR: unexpected end).
  int code = Z_OK;
  const std::string msg = ::gzerror(g, &code);
  ::gzclose(g);
  QTUNE_CHECK(code == Z_OK || code == Z_STREAM_END, path.string(), ": gzip stream truncated or corrupt after ",
              n, " decompressed bytes: ", msg);
  out.resize(n);
  QTUNE_CHECK(n > 0, path.string(), ": gzip stream decompresses to 0 bytes");
  return out;
}

}  // namespace qtune::detail
