#pragma once
// Importance matrices as llama.cpp's llama-imatrix computes them: for every matrix of the
// transformer blocks (blk.*: attn_q/k/v/output, ffn_gate/up/down; not output.weight, as
// llama-imatrix without --process-output), the mean over all evaluated rows of the squared input
// activation of each input column (ne[0] values per matrix).
//
// File format: llama.cpp's *legacy binary* imatrix (the `imatrix.dat` written by llama-imatrix
// before the GGUF-based format of mid-2025, and still read by llama-quantize --imatrix). All
// integers int32 little-endian, floats float32:
//   n_entries
//   n_entries x { name_len, name[name_len] (no NUL), ncall, nval, values[nval] }
//   last_call                      (chunks processed)
//   dataset_len, dataset[dataset_len]   (the text file's name)
// values[i] = (sum of x_i^2 / rows) * ncall; readers divide by ncall to get the mean square.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "qtune/weights.hpp"
#include "weights/llama_model.hpp"

namespace qtune::weights {

struct imatrix_entry {
  std::int32_t ncall = 0;          ///< chunks that evaluated this matrix
  std::vector<float> mean_sq;      ///< ne[0] values: mean squared activation per input column
};

struct imatrix {
  std::map<std::string, imatrix_entry> entries;  ///< by tensor name ("blk.0.attn_q.weight")
  std::int32_t last_call = 0;
  std::string dataset;
};

/// Runs the model on n_chunks chunks of n_ctx tokens (BOS first in each, as llama-imatrix does)
/// and collects every blk.* matrix's input statistics.
imatrix collect_imatrix(const llama_model& m, const std::vector<std::int32_t>& tokens, std::int32_t bos,
                        std::uint32_t n_ctx, std::size_t n_chunks, const std::string& dataset);

/// Writes the legacy binary format (above). Errors name the file.
void write_imatrix(const std::filesystem::path& path, const imatrix& im);
/// Reads the legacy binary format, every count and length checked against the file size.
imatrix read_imatrix(const std::filesystem::path& path);
/// The importance weights (mean squares) of the entries whose name and length match a tensor of m.
/// Throws when none matches.
importance_map imatrix_importance(const imatrix& im, const model& m, const std::string& what);

}  // namespace qtune::weights
