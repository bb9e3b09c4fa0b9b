#pragma once
// The codec core: one interface for every vector encoding, used by embedding search (graph
// indexes store codes) and by model-weight quantization (block formats reuse the scalar
// routines). Codecs know nothing about graphs.
//
// Canonical names round-trip (parse(to_string(x)) == x):
//   fp32, fp16, bf16              plain floating point
//   sq8, sq4                      per-dimension affine ranges learned from data;
//   sq8:minmax, sq4:q0.001        ... with the range statistic spelled out (min-max, or
//                                 quantile clipping at q and 1-q); the default is written
//                                 without a suffix
//   pq{M}x{nbits}                 product quantization, e.g. pq16x8 (k-means via FAISS)
//   bin                           binary quantization, 1 bit per dimension
//   rot,<codec>                   random orthogonal rotation applied before the codec
//
// Details of each family:
//   sq ranges are per dimension: x_j ~ lo_j + scale_j * c_j, c_j in [0, 2^bits - 1], rounded to
//     nearest; the range [lo_j, hi_j] is the training min/max ("minmax") or the q / 1-q
//     quantiles ("q<q>", values outside are clipped). A dimension with a zero range decodes
//     exactly to lo_j (scale 0). Defaults, measured (bench_codecs, recall@10 and relative
//     error on sift10k, glove50-10k, fmnist10k): sq8 = sq8:minmax (clipping gained nothing),
//     sq4 = sq4:q0.001 (beats minmax on sift10k and glove50, ties on fmnist10k).
//   pq{M}x{nbits}: dim % M == 0, nbits 4 or 8; k-means per subspace by FAISS (25 iterations,
//     seed 1234); needs at least 2^nbits training vectors. "pq16" means pq16x8.
//   bin: bit j = x_j > t_j (t_j the training mean); decodes to lo_j or hi_j, the means of the
//     training values on either side of t_j. Distances use one 256-entry look-up table per
//     byte of code (the PQ table kernel). Best with rerank, or after rot, (RaBitQ-like).
//   rot,<codec>: a seeded random orthogonal matrix R (Gram-Schmidt QR of a Gaussian matrix);
//     codes are inner(R x), queries are rotated in prepare_query, decode applies R^T.
//
// Code layouts are those of src/kernels/kernels.hpp (sq8: one byte per dim; sq4: packed
// nibbles, low first; pq8: M bytes; pq4: packed nibbles; fp16/bf16: dim uint16; bin: ceil(dim/8)
// bytes, bit j in byte j/8 at bit j%8).
//
// Distances are "smaller is closer" (qtune/metric.hpp). A codec is created for a metric;
// cosine is handled as ip (vectors are normalised at load). sq8 / sq4 created for cosine rank
// codes by the cosine to their reconstruction instead: distance = 1 - <q, dec(c)> / |dec(c)|,
// which is 1 - <q, x> for exact unit vectors but, unlike 1 - <q, dec(c)>, does not favour codes
// whose reconstruction came out longer than 1 (exhaustive recall@10 on glove50-10k: sq4 0.840 ->
// 0.896, sq8 0.987 -> 0.989; FAISS SQ4 / SQ8 on unit vectors with L2: 0.869 / 0.991).
//
// Thread-safety: train() is not; after training every const member is safe to call from many
// threads at once.
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "qtune/dataset.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/metric.hpp"

namespace qtune {

/// Distance between a prepared query (or a code, for the symmetric form) and one code.
/// `params` is codec::distance_params(). This is a plain function pointer so a graph library
/// (hnswlib's SpaceInterface) can call it directly with no virtual dispatch.
using code_distance_fn = float (*)(const void* query, const void* code, const void* params);

class codec {
 public:
  virtual ~codec() = default;

  /// Canonical name, e.g. "sq4:q0.001" or "rot,pq16x8".
  virtual std::string name() const = 0;
  std::size_t dim() const noexcept { return dim_; }
  /// The metric the codec computes (cosine is computed as ip on normalised vectors).
  metric distance_metric() const noexcept { return metric_; }
  /// The metric the codec was created for (cosine stays cosine); saved with the codec.
  metric created_metric() const noexcept { return created_metric_; }
  /// Bytes of one encoded vector.
  virtual std::size_t code_size() const = 0;
  /// Bytes of trained parameters kept in memory while searching (ranges, centroids, rotation).
  virtual std::size_t table_bytes() const = 0;

  virtual bool is_trained() const = 0;
  /// Learns parameters from n training vectors. x: n * dim floats, row-major (caller owns).
  /// Codecs that need no training accept any n (including 0).
  virtual void train(std::size_t n, const float* x) = 0;
  /// x: n * dim floats; codes: n * code_size() bytes (caller allocates).
  virtual void encode(std::size_t n, const float* x, std::uint8_t* codes) const = 0;
  /// codes: n * code_size() bytes; x: n * dim floats (caller allocates).
  virtual void decode(std::size_t n, const std::uint8_t* codes, float* x) const = 0;

  // --- asymmetric distance: float query against codes --------------------------------------
  /// Bytes of a prepared query (look-up tables, offset query, ...).
  virtual std::size_t prepared_query_size() const = 0;
  /// Prepares q (dim floats) once; `prepared` has prepared_query_size() bytes, 64-byte aligned.
  virtual void prepare_query(const float* q, void* prepared) const = 0;
  /// fn(prepared_query, code, distance_params()) -> distance.
  virtual code_distance_fn asymmetric_distance() const = 0;

  // --- symmetric distance: code against code ------------------------------------------------
  /// fn(code_a, code_b, distance_params()) -> distance between the decoded vectors.
  virtual code_distance_fn symmetric_distance() const = 0;

  /// Opaque parameter block for both distance functions; valid while the codec lives.
  virtual const void* distance_params() const = 0;

  // --- serialization of trained parameters (binary, little-endian, versioned) -------------
  virtual void save(std::ostream& out) const = 0;
  /// Reads what save() wrote for a codec of the same name; throws qtune::error on mismatch.
  virtual void load(std::istream& in) = 0;

  // Convenience wrappers (not for hot loops).
  float distance(const void* prepared, const std::uint8_t* code) const {
    return asymmetric_distance()(prepared, code, distance_params());
  }
  float distance_codes(const std::uint8_t* a, const std::uint8_t* b) const {
    return symmetric_distance()(a, b, distance_params());
  }

 protected:
  codec(std::size_t dim, metric m) : dim_(dim), metric_(compute_metric(m)), created_metric_(m) {}
  std::size_t dim_;
  metric metric_;
  metric created_metric_;
};

// --- codec names, parsed ---------------------------------------------------------------------
/// The family of a codec name (the part before any ':' suffix, without "rot,").
enum class codec_family { fp32, fp16, bf16, sq, pq, bin };
/// How a scalar quantizer learns its per-dimension range: the training minimum and maximum; the
/// quantiles q and 1 - q; or, per dimension, the clipping (0, 1, 2, 4, ... values cut at each
/// end, up to 0.1% of them at 8 bits, 1% at 4) whose quantization error on the training values
/// is least ("mse").
enum class codec_sq_range { minmax, quantile, mse };

/// A parsed codec name: the one typed form every layer reads instead of comparing strings.
/// parse_codec_spec(s.to_string()) == s for every valid s.
struct codec_spec {
  codec_family kind = codec_family::fp32;
  bool rotate = false;          ///< "rot,<codec>": a random rotation first
  int bits = 8;                 ///< sq: 8 or 4; pq: nbits (4 or 8); bin: 1
  codec_sq_range range = codec_sq_range::minmax;
  double quantile = 0.0;        ///< codec_sq_range::quantile: clip at q and 1 - q
  std::size_t m = 0;            ///< pq: number of subquantizers

  /// Canonical spelling (default sq range without suffix), e.g. "rot,pq16x8", "sq4".
  std::string to_string() const;
  bool operator==(const codec_spec&) const = default;
  /// The codes are the float rows themselves (plain fp32): rerank and a float graph add nothing.
  bool lossless() const { return kind == codec_family::fp32 && !rotate; }
};
/// Parses a codec name (case-insensitive, spaces ignored); throws qtune::error naming it.
codec_spec parse_codec_spec(std::string_view name);
/// "fp32" "fp16" "bf16" "sq" "pq" "bin".
std::string to_string(codec_family f);

/// Creates an untrained codec from its name. Throws qtune::error naming the bad name.
std::unique_ptr<codec> make_codec(std::string_view name, std::size_t dim, metric m);
/// Canonical spelling of a codec name (parses and re-prints; "SQ8" -> "sq8").
std::string canonical_codec_name(std::string_view name);
/// Bytes per vector of a codec for `dim` without training it.
std::size_t codec_code_size(std::string_view name, std::size_t dim);

struct codec_info {
  std::string name;         ///< canonical example name, e.g. "pq16x8"
  std::string description;  ///< one line
};
/// The codec families, for `tune codecs`.
std::vector<codec_info> list_codecs();

/// Saves name + trained parameters; load_codec() recreates the codec from them.
/// Stream layout (little-endian): magic "QTCODEC1", u32 format version, u32 metric,
/// u64 dim, u32 name length, name bytes, then codec::save()'s bytes (which begin with their
/// own 4-byte magic and u32 version). A truncated or mismatched stream throws qtune::error.
void save_codec(const codec& c, std::ostream& out);
std::unique_ptr<codec> load_codec(std::istream& in);

// --- helpers for evaluation (codec-eval, sweeps, tests) -------------------------------------

/// Encodes n vectors in parallel (oneTBB). x: n rows of dim floats with row stride `stride`
/// (in floats, >= dim); codes: n * code_size() bytes (caller allocates).
void encode_parallel(const codec& c, matrix_view<float> x, std::uint8_t* codes);

/// Mean over rows of ||x - decode(codes)||^2 / ||x||^2 (rows with ||x|| = 0 count their
/// absolute error). x: n rows of dim floats; codes: x.rows * code_size() bytes.
double relative_error(const codec& c, matrix_view<float> x, const std::uint8_t* codes);

/// Exhaustive search over n codes (codes: n * code_size() bytes, ids are row numbers) with the
/// codec's asymmetric distance; parallel over queries (oneTBB). Result rows are sorted by
/// (distance, id); padded with -1 / +inf when n < k. queries: dim floats each.
knn_result search_codes(const codec& c, const std::uint8_t* codes, std::size_t n,
                        matrix_view<float> queries, std::size_t k);

}  // namespace qtune
