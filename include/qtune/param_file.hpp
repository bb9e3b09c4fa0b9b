#pragma once
// The recommended parameter file (recommended.yaml): the chosen index configuration, what was
// measured for it, where it came from, and the same choice spelled for the systems people
// deploy (FAISS, hnswlib, Qdrant, Weaviate, Milvus, pgvector, Elasticsearch).
//
// Written for a human reviewer (commented YAML) and loaded back by load_param_file();
// render_param_file(load_param_file(f)) reproduces f's text (the deploy section is derived
// from the configuration, so it is regenerated rather than read). The parameters themselves
// (recommended_params) are plain data in qtune/params.hpp, which a service gets from
// <qtune/qtune.hpp> without the tuner; reading and writing the file is the tuner's (qtune::tune,
// yaml-cpp).
#include <cstddef>
#include <filesystem>
#include <string>

#include "qtune/index.hpp"
#include "qtune/params.hpp"

namespace qtune {

/// The file's text (YAML with comments).
std::string render_param_file(const recommended_params& p);
/// Writes render_param_file(p) atomically (temporary file + rename).
void write_param_file(const std::filesystem::path& path, const recommended_params& p);
/// Reads a parameter file; throws qtune::error "FILE:LINE:COL: ..." on a missing or bad key.
recommended_params load_param_file(const std::filesystem::path& path);
recommended_params parse_param_file_text(const std::string& yaml, const std::filesystem::path& file);

/// The `deploy:` section alone (indented YAML), for the chosen configuration.
std::string deploy_spellings(const index_config& config, std::size_t dim, std::size_t k);

}  // namespace qtune
