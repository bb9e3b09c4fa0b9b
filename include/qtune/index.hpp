#pragma once
// Index adapters: one interface over
//   hnsw               hnswlib's graph storing any codec's codes (a custom SpaceInterface);
//                      search uses the asymmetric float-query-vs-code distance, with optional
//                      rerank of the top k * r candidates on full-precision vectors;
//   faiss:<factory>    any FAISS index_factory string (e.g. faiss:HNSW32,SQ8), the peer.
// The tune layer only sees this interface.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "qtune/dataset.hpp"
#include "qtune/metric.hpp"

namespace qtune {

/// The index families. A kind is spelled "hnsw" or "faiss:<factory string>" in YAML, results and
/// parameter files; parse_index_kind(k.to_string()) == k.
enum class index_family { hnsw, faiss };
struct index_kind {
  index_family family = index_family::hnsw;
  std::string factory;             ///< faiss only: the index_factory string, e.g. "HNSW32,SQ8"
  std::string to_string() const;
  bool operator==(const index_kind&) const = default;
};
/// Parses "hnsw" | "faiss:<factory>"; throws qtune::error naming the bad kind.
index_kind parse_index_kind(std::string_view name);

/// Build-time and search-time parameters of one index: the one configuration type of qtune.
/// The sweep plans with it (work_unit), results carry it (measured_point::config), parameter
/// files store it (recommended_params::config) and the library builds from it. Names match the sweep YAML and the
/// recommended parameter file.
struct index_config {
  std::string kind = "hnsw";       ///< "hnsw" or "faiss:<factory string>"
  std::string codec = "fp32";      ///< codec name (hnsw only), see qtune/codec.hpp
  std::size_t m = 16;              ///< HNSW M (hnsw; for faiss the factory string says it)
  std::size_t ef_construction = 200;
  std::size_t ef_search = 64;
  /// 0 = off; r = re-score the top k * r on full vectors. At build time it also decides whether
  /// the full-precision vectors are kept (rerank > 0) or dropped (0: codes and graph only).
  std::size_t rerank = 0;
  metric distance = metric::l2;
  std::uint64_t seed = 42;
  std::size_t threads = 0;         ///< 0 = all cores (build and batch search)
  /// hnsw only: which distance builds the graph. "float" = the original float vectors (exact
  /// distances; links are then transplanted onto the codes), "codes" = the codec's symmetric
  /// code-to-code distance. The graph always stores codes and is searched asymmetrically.
  std::string graph_source = "float";

  /// The parsed kind (kind is kept spelled, as files write it).
  index_kind parsed_kind() const { return parse_index_kind(kind); }
  bool is_hnsw() const { return parsed_kind().family == index_family::hnsw; }
  /// "hnsw|sq8|M16|efc100" (hnsw) or "faiss:HNSW32|efc40": identifies a build.
  std::string build_key() const;
  /// build_key() + "|ef64|rr0": identifies a build with its search settings.
  std::string key() const;
  /// "hnsw sq8 M=16 efC=100" (the build) and, with search settings, " ef=64 rerank=4".
  std::string describe_build() const;
  std::string describe() const;
};

/// Bytes of memory, in two parts: what must stay in RAM to search (graph + codes + codec
/// tables), and what rerank reads (full-precision vectors; could live on disk).
struct index_memory {
  std::size_t resident_bytes = 0;
  std::size_t rerank_bytes = 0;
  std::size_t total() const noexcept { return resident_bytes + rerank_bytes; }
};

class index {
 public:
  virtual ~index() = default;
  virtual const index_config& config() const = 0;
  virtual std::size_t dim() const = 0;
  virtual std::size_t size() const = 0;

  /// Trains the codec (if any) on `base`, encodes it and builds the graph, in parallel.
  /// base: rows x dim floats (already normalised for cosine). Ids are row numbers.
  virtual void build(matrix_view<float> base) = 0;
  /// Appends x.rows vectors (x: rows x dim floats, borrowed for the call, normalised for cosine
  /// like build()). They get ids size() .. size() + rows - 1. hnsw: encoded with the codec that
  /// build() trained (it is not retrained) and linked into the graph with the codec's symmetric
  /// distance; their full-precision rows are kept for rerank when the codec is lossy.
  /// faiss: faiss::Index::add. On an index never built or loaded this is build(x).
  /// NOT safe concurrently with searches or another add(): the caller serialises them (e.g. a
  /// std::shared_mutex: searches shared, add exclusive).
  virtual void add(matrix_view<float> x) = 0;
  /// Sets efSearch for subsequent searches (hnswlib keeps one ef per index).
  virtual void set_ef_search(std::size_t ef) = 0;
  virtual void set_rerank(std::size_t r) = 0;

  /// One query: q has dim floats; ids/distances have k slots (caller allocates); padded
  /// with -1 / +inf when fewer than k are found. Safe to call from many threads at once.
  virtual void search(const float* q, std::size_t k, std::int32_t* ids, float* distances) const = 0;
  /// As search(), with efSearch `ef_search` for this call only (0 = the index setting); the
  /// index setting is not changed, so calls with different ef may run concurrently.
  virtual void search_ef(const float* q, std::size_t k, std::size_t ef_search, std::int32_t* ids,
                         float* distances) const = 0;
  /// A batch on `threads` threads (0 = all): ids/distances are queries.rows * k, row-major.
  /// ef_search: as in search_ef() (0 = the index setting, which is left unchanged).
  virtual void search_batch(matrix_view<float> queries, std::size_t k, std::int32_t* ids, float* distances,
                            std::size_t threads = 0, std::size_t ef_search = 0) const = 0;

  /// Analytic memory (not RSS): see index_memory.
  virtual index_memory memory() const = 0;

  /// Writes a qtune index file: a header (magic "QTUNEIDX", format version, the index config,
  /// codec name, dim, metric, count, payload size and a 64-bit FNV-1a checksum of the payload),
  /// then the payload: codec parameters, the graph (or FAISS's own serialization) and the
  /// full-precision rerank vectors when kept. Written atomically (temporary file + rename).
  virtual void save(const std::filesystem::path& path) const = 0;
  /// Reads a file written by save(). The file's kind and dim must match this index (else
  /// qtune::error naming the file); the rest of the config is taken from the file. A truncated,
  /// corrupt or foreign file raises qtune::error naming the file and what was wrong.
  virtual void load(const std::filesystem::path& path) = 0;
};

/// Creates an empty index for `dim`-dimensional vectors. Throws qtune::error on a bad config.
std::unique_ptr<index> make_index(const index_config& config, std::size_t dim);
/// Creates an index from a file written by index::save() (kind, dim and config from its header).
std::unique_ptr<index> load_index(const std::filesystem::path& path);

}  // namespace qtune
