#pragma once
// Model-weight quantization on the codec core: GGUF block formats (ggml's type table), readers
// for GGUF / safetensors / .npy, a GGUF v3 writer, per-tensor error reports and a memory-budget
// planner that picks a type per tensor.
//
// Shapes follow GGUF: `ne[0]` is the contiguous (fastest-varying) dimension, a "row" is ne[0]
// values, and a tensor holds ne[0]*ne[1]*... values. A safetensors shape [rows, cols] is
// ne = {cols, rows}.
//
// Block formats (byte layouts in src/weights/ggml_blocks.hpp, identical to ggml's):
//   f32, f16, bf16                         1 value per "block"
//   q8_0 (34 B / 32), q4_0 (18 B / 32), q4_1 (20 B / 32), q5_0 (22 B / 32), q5_1 (24 B / 32)
//   q4_k (144 B / 256), q6_k (210 B / 256)
//   int8_gG: per group of G values an fp16 scale + G int8 codes (symmetric, round half away)
//   int4_gG: per group of G values fp16 scale + fp16 min + G/2 bytes (affine, codes low nibble
//            first, adjacent pairs): the storage of GPTQ/AWQ-style checkpoints. Not GGUF types:
//            usable in stats/plan/dequantize, refused by the GGUF writer.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qtune::weights {

// --- the type table ---------------------------------------------------------------------------

/// ggml type ids as stored in GGUF tensor infos (only those qtune reads or writes), plus qtune's
/// own per-group formats, which have no GGUF id.
enum class wtype : std::uint32_t {
  f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q4_k = 12, q6_k = 14, bf16 = 30,
  int8_g = 1000, int4_g = 1001,
};

/// A storage format: a type, plus the group size for int8_g / int4_g (0 otherwise).
struct wformat {
  wtype type = wtype::f32;
  std::uint32_t group = 0;
  bool operator==(const wformat&) const = default;
};

/// ggml-like traits: a block of blck_size values takes type_size bytes.
struct type_traits {
  const char* name;         ///< canonical name ("q4_k"); int formats print as "int4_g128"
  std::size_t blck_size;    ///< values per block
  std::size_t type_size;    ///< bytes per block
  bool is_quantized;
  bool in_gguf;             ///< has a GGUF type id
};

type_traits traits(wformat f) noexcept;
/// "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q6_k", "int8_g128",
/// "int4_g64" (group: a multiple of 2, 2..4096). parse(to_string(f)) == f. Throws on anything else.
wformat parse_format(const std::string& s);
std::string to_string(wformat f);
/// The GGUF type id -> format; throws naming the id when unknown to qtune.
wformat format_from_gguf_id(std::uint32_t id);
/// Block formats qtune can quantize to (the candidates of `stats` and `plan`).
std::vector<wformat> quantized_formats();

/// Bytes taken by n values (n a multiple of blck_size).
std::size_t row_size(wformat f, std::size_t n) noexcept;
/// Bits per weight of the format.
double bits_per_weight(wformat f) noexcept;

/// Quantizes n_rows rows of n_per_row floats (x, row-major) into out (n_rows * row_size bytes).
/// n_per_row must be a multiple of blck_size (throws otherwise). importance: n_per_row floats
/// (one weight per column) or null; with it the scale search minimises importance-weighted
/// squared error (ggml's imatrix rules); without it the output is byte-identical to llama.cpp's
/// quantize_row_*_ref. Row-parallel (oneTBB) for large tensors.
void quantize(wformat f, const float* x, std::size_t n_rows, std::size_t n_per_row, std::uint8_t* out,
              const float* importance = nullptr);
/// Decodes n values (n a multiple of blck_size) from codes into x (n floats).
void dequantize(wformat f, const std::uint8_t* codes, std::size_t n, float* x);

// --- files -----------------------------------------------------------------------------------

/// GGUF metadata value (the 13 GGUF value types; arrays hold their elements).
struct gguf_value {
  enum kind : std::uint32_t { u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
                              str = 8, array = 9, u64 = 10, i64 = 11, f64 = 12 };
  kind type = u32;
  std::uint64_t u = 0;      ///< unsigned types and bool
  std::int64_t i = 0;       ///< signed types
  double f = 0;             ///< f32 / f64
  std::string s;            ///< str
  kind elem_type = u8;      ///< array element type
  std::vector<gguf_value> items;  ///< array elements
};

struct kv {
  std::string key;
  gguf_value value;
};

struct tensor {
  std::string name;
  std::vector<std::uint64_t> ne;   ///< GGUF order, ne[0] contiguous; 1..4 entries
  wformat format;
  std::uint64_t offset = 0;        ///< into model::data
  std::uint64_t nbytes = 0;
  /// True for v1/v2 GGUF tensors whose rows are not whole blocks but whose flat value count is:
  /// the 2023 quantizer wrote them as one block stream (blocks straddle rows).
  bool flat_blocks = false;

  std::uint64_t n_values() const noexcept;
  std::uint64_t n_rows() const noexcept { return ne.empty() ? 0 : n_values() / ne[0]; }
};

/// A model read into memory: metadata, tensor table and the tensor bytes (owned).
struct model {
  std::filesystem::path path;
  std::string container;           ///< "gguf" or "safetensors"
  std::uint32_t gguf_version = 0;  ///< 1..3 for GGUF
  std::uint32_t alignment = 32;
  std::vector<kv> metadata;        ///< GGUF KV in file order; safetensors __metadata__ as strings
  std::vector<tensor> tensors;     ///< in file order
  std::vector<std::uint8_t> data;  ///< tensor bytes

  const tensor& find(const std::string& name) const;   ///< throws naming the tensor
  const kv* find_kv(const std::string& key) const noexcept;
  /// The tensor as float32 (n_values floats), dequantized when quantized.
  std::vector<float> to_float(const tensor& t) const;
  std::uint64_t total_values() const noexcept;
  std::uint64_t total_bytes() const noexcept;
};

/// Reads GGUF v3/v2/v1. Validation (each failure throws qtune::error naming the file and the
/// problem): magic, version, tensor/KV counts that fit the file, string and array lengths within
/// the file, value and tensor type ids known, general.alignment a power of two, 1..4 dims, no
/// zero or negative (>= 2^63) dims, no element-count overflow, row length a multiple of the block
/// size (v3; v1/v2 straddling tensors are accepted flat, see tensor::flat_blocks), duplicate
/// names, offsets aligned, in order, non-overlapping and inside the file.
model read_gguf(const std::filesystem::path& path);
/// Reads safetensors with F32/F16/BF16 tensors. Validation: header length <= 100 MB and inside
/// the file, JSON object header, dtype known, shape and data_offsets well-formed, offsets start at
/// 0 and run back to back, size == dtype size * shape, no trailing bytes, no duplicate names.
model read_safetensors(const std::filesystem::path& path);
/// By extension: .gguf or .safetensors.
model read_model(const std::filesystem::path& path);

/// Reads a float32 (or float16/float64, converted) C-order .npy; shape returned in `shape`.
std::vector<float> read_npy(const std::filesystem::path& path, std::vector<std::uint64_t>* shape = nullptr);

/// Writes GGUF v3: the model's metadata (general.alignment set to 32), the given tensors in
/// order, each tensor's data padded to 32 bytes. `tensors[i].offset` / nbytes index into `data`
/// of the model passed; offsets in the file are recomputed.
void write_gguf(const std::filesystem::path& path, const std::vector<kv>& metadata,
                const std::vector<tensor>& tensors, const std::vector<std::uint8_t>& data);
/// Writes every tensor as F32 safetensors (shape [.., ne1, ne0]), header padded to 8 bytes.
void write_safetensors_f32(const std::filesystem::path& path, const model& m);

// --- quantizing a model ------------------------------------------------------------------------

/// Error of one tensor stored in one format.
struct error_stats {
  std::uint64_t n = 0;
  double sse = 0;        ///< sum of squared errors
  double sum_x2 = 0;     ///< sum of squared originals
  double max_abs = 0;
  double dot = 0, sum_y2 = 0;  ///< for the cosine
  double bytes = 0;
  double rmse() const noexcept;
  double rel_rmse() const noexcept;   ///< rmse / rms(x)
  double snr_db() const noexcept;     ///< 10 log10(sum x^2 / sse); +inf when exact
  double cosine() const noexcept;
  double bpw() const noexcept;        ///< 8 * bytes / n
  void add(const error_stats& o) noexcept;  ///< totals: pooled sums
};
error_stats measure(const float* x, const float* y, std::size_t n, double bytes);

// --- non-finite weights ------------------------------------------------------------------------

/// NaN / +-Inf values of one tensor.
struct nonfinite_count {
  std::uint64_t nan = 0, inf = 0;
  std::uint64_t first_index = 0;  ///< flat index of the first non-finite value (valid when any())
  bool any() const noexcept { return nan + inf > 0; }
};
/// Counts the non-finite values of x (n floats).
nonfinite_count count_nonfinite(const float* x, std::size_t n) noexcept;
/// Throws qtune::error naming the tensor, the first non-finite index and its value, and
/// --allow-nonfinite, when x (the tensor's n_values floats) holds NaN or Inf.
void check_finite(const tensor& t, const float* x, std::size_t n);
/// The --allow-nonfinite policy: NaN -> 0 and +-Inf -> +-(largest finite |value| of the tensor),
/// in place, so that no block gets an infinite or NaN scale. Returns what was replaced.
nonfinite_count replace_nonfinite(float* x, std::size_t n) noexcept;

/// Importance weights per tensor name (ne[0] floats each).
using importance_map = std::map<std::string, std::vector<float>>;
/// A .npy file (1-D, applied to every tensor whose row length matches) or a directory of
/// `<tensor name>.npy` files.
importance_map read_importance(const std::filesystem::path& path, const model& m);

/// The format a tensor gets when `want` is asked for: 1-D tensors stay f32; a row length that is
/// not a multiple of the block size falls back like llama.cpp (q4_k -> q5_0, q6_k -> q8_0, then
/// f16). Returns the format used.
wformat effective_format(const tensor& t, wformat want);
/// True when the tensor is a weight matrix to quantize (>= 2 dims).
bool is_quantizable(const tensor& t) noexcept;

struct quantized_tensor {
  tensor info;               ///< offset/nbytes into the output buffer
  error_stats stats;
  wformat asked;
  nonfinite_count nonfinite;  ///< values replaced under allow_nonfinite
};
struct quantized_model {
  std::vector<kv> metadata;
  std::vector<quantized_tensor> tensors;
  std::vector<std::uint8_t> data;
  error_stats total;          ///< pooled over the quantized tensors
};
/// Quantizes every tensor to choice[i] (effective_format applied), measuring the error.
/// choice: one format per tensor of m. Metadata: m's, plus general.quantization_version = 2 and
/// general.file_type (llama_ftype of the most common quantized format).
/// A tensor holding NaN/Inf is a qtune::error (check_finite) unless allow_nonfinite, which applies
/// replace_nonfinite first and counts the values in quantized_tensor::nonfinite. A block whose
/// decoded values are not finite (an fp16 scale that overflows on huge finite values) is always an
/// error naming the tensor and the index: no block with an infinite scale is ever written.
quantized_model quantize_model(const model& m, const std::vector<wformat>& choice,
                               const importance_map* importance = nullptr, bool allow_nonfinite = false);

/// llama_ftype value for an all-`f` file (e.g. q4_k -> 14 MOSTLY_Q4_K_S, q8_0 -> 7).
std::uint32_t llama_file_type(wformat f) noexcept;

// --- the memory budget -----------------------------------------------------------------------

struct plan_candidate {
  wformat format;
  std::uint64_t bytes = 0;
  double rel_mse = 0;        ///< sse / sum x^2 of the tensor under that format
};
struct plan_tensor {
  std::string name;
  std::uint64_t n = 0;
  std::vector<plan_candidate> candidates;  ///< the tensor's own size-vs-error front
  std::size_t chosen = 0;                  ///< index into candidates
  bool forced = false;                     ///< set by an override
};
struct plan_point {
  std::uint64_t bytes = 0;
  double rel_rmse = 0;       ///< sqrt(sum n_t rel_mse_t / sum n_t) over the quantizable tensors
};
struct plan_result {
  std::vector<plan_tensor> tensors;   ///< quantizable tensors only
  std::uint64_t fixed_bytes = 0;      ///< tensors kept f32 (1-D)
  std::uint64_t total_values = 0;     ///< every tensor
  std::uint64_t bytes = 0;            ///< total file tensor bytes of the chosen plan
  double rel_rmse = 0;
  bool feasible = true;               ///< false when even the smallest choice exceeds the budget
  std::vector<plan_point> front;      ///< Pareto front of whole-model plans (size vs error)
};
/// `--tensor-type REGEX=TYPE` rules, each regex compiled once (ECMAScript, searched in the tensor
/// name); the first rule that matches wins. A bad regex is a qtune::error naming it.
class format_overrides {
 public:
  explicit format_overrides(const std::vector<std::pair<std::string, wformat>>& rules);
  /// The format of the first matching rule, or nullptr.
  const wformat* match(const std::string& tensor_name) const;

 private:
  struct rule;
  std::vector<std::shared_ptr<const rule>> rules_;
};

struct plan_options {
  std::optional<double> budget_bpw;           ///< bits per weight over all tensors
  std::optional<double> budget_mb;            ///< MiB of tensor data
  std::vector<std::pair<std::string, wformat>> overrides;  ///< regex (search) = format
  std::vector<wformat> candidates;            ///< default: quantized_formats() + f16
  bool allow_nonfinite = false;               ///< see quantize_model
};
/// Measures every candidate on every quantizable tensor and picks one per tensor minimising
/// (a candidate whose decoded values are not finite, e.g. an fp16 scale overflow, is dropped)
/// sum n_t * rel_mse_t subject to the byte budget (Lagrangian sweep over the per-tensor fronts,
/// then a greedy fill of the remaining budget).
plan_result make_plan(const model& m, const plan_options& opt, const importance_map* importance = nullptr);

}  // namespace qtune::weights
