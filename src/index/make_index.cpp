#include <memory>

#include "index/hnsw_index.hpp"
#include "index/index_file.hpp"
#include "qtune/error.hpp"
#include "qtune/index.hpp"

namespace qtune {

std::unique_ptr<index> make_index(const index_config& config, std::size_t dim) {
  QTUNE_CHECK(dim > 0, "index: dim must be > 0");
  if (config.kind == "hnsw") return std::make_unique<detail::hnsw_index>(config, dim);
  if (config.kind.rfind("faiss:", 0) == 0) return detail::make_faiss_index(config, dim);
  fail("unknown index kind '", config.kind, "': expected 'hnsw' or 'faiss:<factory string>'");
}

std::unique_ptr<index> load_index(const std::filesystem::path& path) {
  const detail::index_file f = detail::read_index_file(path, /*header_only=*/true);  // load() reads it all
  index_config config = f.config;
  config.rerank = 0;  // faiss refuses rerank > 0 at creation; load() restores the file's value
  auto idx = make_index(config, f.dim);
  idx->load(path);
  return idx;
}

}  // namespace qtune
