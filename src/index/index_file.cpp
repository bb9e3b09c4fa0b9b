#include "index/index_file.hpp"

#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "qtune/error.hpp"

namespace qtune::detail {
namespace {

constexpr char magic[8] = {'Q', 'T', 'U', 'N', 'E', 'I', 'D', 'X'};

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

std::string header_text(const index_file& f) {
  const index_config& c = f.config;
  std::ostringstream os;
  os << "kind=" << c.kind << "\n"
     << "codec=" << c.codec << "\n"
     << "m=" << c.m << "\n"
     << "ef_construction=" << c.ef_construction << "\n"
     << "ef_search=" << c.ef_search << "\n"
     << "rerank=" << c.rerank << "\n"
     << "metric=" << to_string(c.distance) << "\n"
     << "seed=" << c.seed << "\n"
     << "graph_source=" << c.graph_source << "\n"
     << "dim=" << f.dim << "\n"
     << "count=" << f.count << "\n";
  return os.str();
}

std::size_t parse_size(const std::filesystem::path& path, const std::string& key, const std::string& value) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  QTUNE_CHECK(used == value.size() && !value.empty(), path.string(), ": header key '", key,
              "' must be a non-negative integer, got '", value, "'");
  return static_cast<std::size_t>(v);
}

}  // namespace

const std::string& index_file::section(const std::string& tag, const std::filesystem::path& path) const {
  for (const auto& s : sections)
    if (s.first == tag) return s.second;
  fail(path.string(), ": qtune index file has no '", tag, "' section");
}

std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  QTUNE_CHECK(in.is_open(), path.string(), ": cannot open for reading");
  std::ostringstream os;
  os << in.rdbuf();
  QTUNE_CHECK(!in.bad(), path.string(), ": read error");
  return os.str();
}

void write_file_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  QTUNE_CHECK(out.is_open(), path.string(), ": cannot open for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  QTUNE_CHECK(out.good(), path.string(), ": write error (disk full?)");
}

void write_index_file(const std::filesystem::path& path, const index_file& f) {
  std::string payload;
  for (const auto& [tag, bytes] : f.sections) {
    QTUNE_CHECK(tag.size() == 4, "index section tag must have 4 characters, got '", tag, "'");
    payload += tag;
    put<std::uint64_t>(payload, bytes.size());
    payload += bytes;
  }
  const std::string header = header_text(f);
  std::string out;
  out.reserve(payload.size() + header.size() + 64);
  out.append(magic, sizeof(magic));
  put<std::uint32_t>(out, index_file_version);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(header.size()));
  out += header;
  put<std::uint64_t>(out, payload.size());
  put<std::uint64_t>(out, fnv1a64(payload.data(), payload.size()));
  out += payload;

  std::filesystem::path tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());
  write_file_bytes(tmp, out);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    fail(path.string(), ": cannot rename temporary file into place: ", ec.message());
  }
}

namespace {
/// The first n bytes of a file (fewer when it is shorter).
std::string read_prefix(const std::filesystem::path& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  QTUNE_CHECK(in.is_open(), path.string(), ": cannot open for reading");
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}
}  // namespace

index_file read_index_file(const std::filesystem::path& path, bool header_only) {
  // magic (8) + version (4) + header size (4), the header, payload size (8) + checksum (8)
  std::string bytes;
  if (header_only) {
    bytes = read_prefix(path, 16);
    if (bytes.size() == 16) {
      std::uint32_t header_size;
      std::memcpy(&header_size, bytes.data() + 12, 4);
      bytes = read_prefix(path, 16 + std::min<std::size_t>(header_size, std::size_t(1) << 20) + 16);
    }
  } else {
    bytes = read_file_bytes(path);
  }
  const std::uint64_t file_size = header_only ? std::filesystem::file_size(path) : bytes.size();
  const std::string name = path.string();
  std::size_t pos = 0;
  auto need = [&](std::size_t n, const char* what) {
    QTUNE_CHECK(bytes.size() - pos >= n, name, ": truncated qtune index file: need ", n, " bytes for ", what,
                " at byte offset ", pos, ", file has ", file_size, " bytes");
  };
  auto get_u32 = [&](const char* what) {
    need(4, what);
    std::uint32_t v;
    std::memcpy(&v, bytes.data() + pos, 4);
    pos += 4;
    return v;
  };
  auto get_u64 = [&](const char* what) {
    need(8, what);
    std::uint64_t v;
    std::memcpy(&v, bytes.data() + pos, 8);
    pos += 8;
    return v;
  };

  QTUNE_CHECK(bytes.size() >= sizeof(magic) && std::memcmp(bytes.data(), magic, sizeof(magic)) == 0, name,
              ": not a qtune index file (expected magic 'QTUNEIDX' at byte 0)");
  pos = sizeof(magic);
  const std::uint32_t version = get_u32("the format version");
  QTUNE_CHECK(version >= 1 && version <= index_file_version, name, ": unsupported qtune index format version ",
              version, ", this qtune reads versions 1 to ", index_file_version);
  const std::uint32_t header_size = get_u32("the header size");
  need(header_size, "the header");
  const std::string header = bytes.substr(pos, header_size);
  pos += header_size;

  std::map<std::string, std::string> kv;
  {
    std::istringstream is(header);
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(is, line)) {
      ++line_no;
      const auto eq = line.find('=');
      QTUNE_CHECK(eq != std::string::npos, name, ": header line ", line_no, " is not key=value: '", line, "'");
      kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  auto value = [&](const char* key) -> const std::string& {
    auto it = kv.find(key);
    QTUNE_CHECK(it != kv.end(), name, ": header has no key '", key, "'");
    return it->second;
  };

  index_file f;
  f.version = version;
  f.config.kind = value("kind");
  f.config.codec = value("codec");
  f.config.m = parse_size(path, "m", value("m"));
  f.config.ef_construction = parse_size(path, "ef_construction", value("ef_construction"));
  f.config.ef_search = parse_size(path, "ef_search", value("ef_search"));
  f.config.rerank = parse_size(path, "rerank", value("rerank"));
  f.config.distance = parse_metric(value("metric"));
  f.config.seed = parse_size(path, "seed", value("seed"));
  f.config.graph_source = value("graph_source");
  f.dim = parse_size(path, "dim", value("dim"));
  f.count = parse_size(path, "count", value("count"));

  const std::uint64_t payload_size = get_u64("the payload size");
  const std::uint64_t checksum = get_u64("the checksum");
  if (header_only) return f;
  QTUNE_CHECK(bytes.size() - pos == payload_size, name, ": truncated or padded qtune index file: header says ",
              payload_size, " payload bytes, found ", bytes.size() - pos);
  const std::uint64_t actual = fnv1a64(bytes.data() + pos, payload_size);
  QTUNE_CHECK(actual == checksum, name, ": corrupt qtune index file: payload checksum ", std::hex, actual,
              " does not match the header's ", checksum);

  while (pos < bytes.size()) {
    need(4, "a section tag");
    std::string tag = bytes.substr(pos, 4);
    pos += 4;
    const std::uint64_t size = get_u64("a section size");
    need(size, "a section body");
    f.sections.emplace_back(std::move(tag), bytes.substr(pos, size));
    pos += size;
  }
  return f;
}

temp_file::temp_file() {
  static std::atomic<std::uint64_t> counter{0};
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("qtune-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd()) + ".tmp");
}

temp_file::~temp_file() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

}  // namespace qtune::detail
