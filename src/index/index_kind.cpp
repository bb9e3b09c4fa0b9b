// Index kinds and configuration keys: the one place that spells and parses them.
#include <sstream>

#include "qtune/error.hpp"
#include "qtune/index.hpp"

namespace qtune {

std::string index_kind::to_string() const {
  return family == index_family::hnsw ? std::string("hnsw") : "faiss:" + factory;
}

index_kind parse_index_kind(std::string_view name) {
  if (name == "hnsw") return {index_family::hnsw, {}};
  if (name.starts_with("faiss:") && name.size() > 6) return {index_family::faiss, std::string(name.substr(6))};
  fail("unknown index kind '", name, "' (expected hnsw or faiss:<factory string>)");
}

std::string index_config::build_key() const {
  if (is_hnsw()) return kind + "|" + codec + "|M" + std::to_string(m) + "|efc" + std::to_string(ef_construction);
  return kind + "|efc" + std::to_string(ef_construction);
}

std::string index_config::key() const {
  return build_key() + "|ef" + std::to_string(ef_search) + "|rr" + std::to_string(rerank);
}

std::string index_config::describe_build() const {
  if (is_hnsw()) return "hnsw " + codec + " M=" + std::to_string(m) + " efC=" + std::to_string(ef_construction);
  return kind + " efC=" + std::to_string(ef_construction);
}

std::string index_config::describe() const {
  std::ostringstream o;
  if (is_hnsw()) o << "hnsw " << codec << " M=" << m;
  else o << kind;
  o << " efC=" << ef_construction << " ef=" << ef_search;
  if (rerank) o << " rerank=" << rerank;
  return o.str();
}

}  // namespace qtune
