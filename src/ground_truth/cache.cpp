// The on-disk ground-truth cache (format and location policy documented in ground_truth.hpp).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "util/hash.hpp"
#include "util/atomic_file.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"

namespace qtune {

namespace {

constexpr char cache_magic[8] = {'Q', 'T', 'G', 'T', 'K', 'N', 'N', '1'};
constexpr std::uint32_t cache_version = 1;

// Fixed little-endian header; the machines we target are little-endian (x86-64, aarch64).
struct cache_header {
  char magic[8];             // "QTGTKNN1"
  std::uint32_t version;     // cache_version
  std::uint32_t metric_id;   // 0 l2, 1 ip, 2 cosine
  std::uint64_t nq;          // query rows
  std::uint64_t k;           // columns stored
  std::uint64_t base_rows;   // base rows the entry was computed on
  std::uint64_t dim;         // vector dimension
  char base_hash[16];        // content_hash(base), 16 hex digits
  char query_hash[16];       // content_hash(queries)
  std::uint64_t checksum;    // 8-lane FNV-1a (below) of ids then distances
  std::uint64_t reserved;    // 0
};
static_assert(sizeof(cache_header) == 96, "the cache header layout is fixed");

std::uint64_t payload_checksum(const knn_result& r) {
  const std::uint64_t h = fnv1a64_8lanes(r.ids.data(), r.ids.size() * sizeof(std::int32_t));
  return fnv1a64_8lanes(r.distances.data(), r.distances.size() * sizeof(float), h);
}

std::uint32_t metric_id(metric m) {
  switch (m) {
    case metric::l2: return 0;
    case metric::ip: return 1;
    case metric::cosine: return 2;
  }
  return 99;
}

struct entry_name {
  std::filesystem::path path;
  std::size_t k;
};

// Entries gt-<key>-k<k>.knn in dir with k >= want, smallest k first.
std::vector<entry_name> find_entries(const std::filesystem::path& dir, const std::string& key, std::size_t want) {
  std::vector<entry_name> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  const std::string prefix = "gt-" + key + "-k";
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() <= prefix.size() + 4 || name.compare(0, prefix.size(), prefix) != 0) continue;
    if (name.compare(name.size() - 4, 4, ".knn") != 0) continue;
    const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - 4);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    const std::size_t k = std::stoull(digits);
    if (k >= want) out.push_back({e.path(), k});
  }
  std::sort(out.begin(), out.end(), [](const entry_name& a, const entry_name& b) { return a.k < b.k; });
  return out;
}

// Reads an entry; nullopt if it is missing, truncated, for other data, or fails its checksum.
std::optional<knn_result> load_entry(const std::filesystem::path& path, const cache_header& expect) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  cache_header h{};
  if (!in.read(reinterpret_cast<char*>(&h), sizeof h)) return std::nullopt;
  if (std::memcmp(h.magic, cache_magic, 8) != 0 || h.version != cache_version || h.metric_id != expect.metric_id ||
      h.nq != expect.nq || h.base_rows != expect.base_rows || h.dim != expect.dim || h.k < expect.k ||
      std::memcmp(h.base_hash, expect.base_hash, 16) != 0 || std::memcmp(h.query_hash, expect.query_hash, 16) != 0)
    return std::nullopt;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size != sizeof h + h.nq * h.k * 8) return std::nullopt;
  knn_result r;
  r.nq = h.nq;
  r.k = h.k;
  r.ids.resize(r.nq * r.k);
  r.distances.resize(r.nq * r.k);
  if (!in.read(reinterpret_cast<char*>(r.ids.data()), std::streamsize(r.ids.size() * 4)) ||
      !in.read(reinterpret_cast<char*>(r.distances.data()), std::streamsize(r.distances.size() * 4)))
    return std::nullopt;
  if (payload_checksum(r) != h.checksum) return std::nullopt;
  return r;
}

void write_entry(const std::filesystem::path& path, cache_header h, const knn_result& r) {
  h.checksum = payload_checksum(r);
  atomic_file out(path);  // temporary beside path, renamed into place by commit()
  out.write(&h, sizeof h);
  out.write(r.ids.data(), r.ids.size() * sizeof(std::int32_t));
  out.write(r.distances.data(), r.distances.size() * sizeof(float));
  out.commit();
}

knn_result first_columns(knn_result r, std::size_t k) {
  if (r.k == k) return r;
  knn_result out;
  out.nq = r.nq;
  out.k = k;
  out.ids.resize(r.nq * k);
  out.distances.resize(r.nq * k);
  for (std::size_t q = 0; q < r.nq; ++q) {
    std::copy_n(r.ids_of(q), k, out.ids.data() + q * k);
    std::copy_n(r.distances_of(q), k, out.distances.data() + q * k);
  }
  return out;
}

}  // namespace

std::filesystem::path default_ground_truth_cache_dir() {
  if (const char* d = std::getenv("QTUNE_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d)
    return std::filesystem::path(d) / "qtune" / "ground_truth";
  if (const char* d = std::getenv("HOME"); d && *d)
    return std::filesystem::path(d) / ".cache" / "qtune" / "ground_truth";
  return std::filesystem::temp_directory_path() / "qtune-ground-truth";
}

namespace {

/// The cache key and the header an entry for (base, queries, m, k) must have.
std::pair<std::string, cache_header> entry_identity(matrix_view<float> base, matrix_view<float> queries, metric m,
                                                    std::size_t k) {
  const std::string hb = content_hash(base);
  const std::string hq = content_hash(queries);
  QTUNE_CHECK(hb.size() == 16 && hq.size() == 16, "cached_exact_knn: content_hash returned '", hb, "' / '", hq,
              "', expected 16 hex digits");
  const std::string ident = "qtune-ground-truth|v" + std::to_string(cache_version) + "|" + hb + "|" + hq + "|" +
                            to_string(m) + "|" + std::to_string(base.rows) + "x" + std::to_string(base.dim) + "|" +
                            std::to_string(queries.rows);
  const std::string key = hex16(fnv1a64_8lanes(ident.data(), ident.size()));

  cache_header expect{};
  std::memcpy(expect.magic, cache_magic, 8);
  expect.version = cache_version;
  expect.metric_id = metric_id(m);
  expect.nq = queries.rows;
  expect.k = k;
  expect.base_rows = base.rows;
  expect.dim = base.dim;
  std::memcpy(expect.base_hash, hb.data(), 16);
  std::memcpy(expect.query_hash, hq.data(), 16);

  return {key, expect};
}

}  // namespace

void store_cached_knn(matrix_view<float> base, matrix_view<float> queries, metric m, const knn_result& r,
                      const std::filesystem::path& cache_dir) {
  QTUNE_CHECK(r.nq == queries.rows && r.k > 0, "store_cached_knn: the result has ", r.nq, " rows, the queries ",
              queries.rows);
  auto [key, h] = entry_identity(base, queries, m, r.k);
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  QTUNE_CHECK(!ec, cache_dir.string(), ": cannot create the ground-truth cache directory: ", ec.message());
  write_entry(cache_dir / ("gt-" + key + "-k" + std::to_string(r.k) + ".knn"), h, r);
}

knn_result cached_exact_knn(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k,
                            const std::filesystem::path& cache_dir) {
  QTUNE_CHECK(k > 0, "cached_exact_knn: k must be > 0, got 0");
  QTUNE_CHECK(!cache_dir.empty(), "cached_exact_knn: empty cache directory");
  auto [key, expect] = entry_identity(base, queries, m, k);
  for (const auto& e : find_entries(cache_dir, key, k)) {
    if (auto r = load_entry(e.path, expect)) return first_columns(std::move(*r), k);
    std::error_code ec;
    std::filesystem::remove(e.path, ec);  // corrupt or stale: drop it, recompute below
  }

  knn_result r = exact_knn(base, queries, m, k);
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  QTUNE_CHECK(!ec, cache_dir.string(), ": cannot create the ground-truth cache directory: ", ec.message());
  expect.k = k;
  write_entry(cache_dir / ("gt-" + key + "-k" + std::to_string(k) + ".knn"), expect, r);
  return r;
}

}  // namespace qtune
