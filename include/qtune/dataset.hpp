#pragma once
// Reading and writing the vector formats people have: TEXMEX .fvecs/.ivecs/.bvecs, NumPy .npy
// (float32/float16/int8/uint8, C order, format versions 1-3), HDF5 in the ann-benchmarks layout
// (datasets train/test/neighbors/distances, attribute "distance"), and the IDX format of
// (Fashion-)MNIST, gzip-compressed or not.
//
// Large float32 files are memory-mapped, not copied: a matrix_view may point into the mapping
// with a row stride (a .fvecs row is a 4-byte header + dim floats, so stride = dim + 1).
// Other dtypes are converted to float32 once. Every malformed input raises qtune::error naming
// the file and the vector index or byte offset.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qtune/metric.hpp"

namespace qtune {

/// A read-only row-major view: row i starts at data + i * stride (stride >= dim, in elements).
template <class T>
struct matrix_view {
  const T* data = nullptr;
  std::size_t rows = 0;
  std::size_t dim = 0;
  std::size_t stride = 0;

  const T* row(std::size_t i) const noexcept { return data + i * stride; }
  bool contiguous() const noexcept { return stride == dim; }
};

/// A float32 matrix that owns its storage: either a memory mapping of a file or a heap buffer.
/// Movable, not copyable. Rows stay valid as long as the object lives.
class vectors {
 public:
  vectors() noexcept;  // empty (0 x 0); defined out of line because storage is incomplete here
  /// Takes a heap buffer of rows * dim floats (row-major).
  vectors(std::vector<float> values, std::size_t rows, std::size_t dim);
  vectors(vectors&&) noexcept;
  vectors& operator=(vectors&&) noexcept;
  ~vectors();

  matrix_view<float> view() const noexcept { return view_; }
  std::size_t rows() const noexcept { return view_.rows; }
  std::size_t dim() const noexcept { return view_.dim; }
  const float* row(std::size_t i) const noexcept { return view_.row(i); }
  /// True when the rows live in a file mapping (no copy was made).
  bool is_mapped() const noexcept;

  /// A contiguous heap copy of rows [begin, end) (or of the given row ids).
  vectors slice(std::size_t begin, std::size_t end) const;
  vectors select(const std::vector<std::size_t>& ids) const;
  /// Scales every row to unit L2 norm (copies a mapped matrix to the heap first).
  /// Throws qtune::error naming the first zero row.
  void normalize_rows(const std::string& what);

  struct storage;  // implementation detail (mapping or heap buffer)

 private:
  friend class vectors_builder;
  std::unique_ptr<storage> storage_;
  matrix_view<float> view_;
};

/// int32 matrix (ground-truth ids from .ivecs / HDF5 "neighbors").
struct int_matrix {
  std::vector<std::int32_t> values;  // rows * dim, row-major
  std::size_t rows = 0;
  std::size_t dim = 0;
  const std::int32_t* row(std::size_t i) const noexcept { return values.data() + i * dim; }
};

// --- readers: format chosen by extension ----------------------------------------------------
//   .fvecs      mapped in place: view stride = dim + 1 floats (is_mapped() == true)
//   .npy <f4    mapped in place when the data offset is 4-byte aligned (always for np.save)
//   .bvecs, .npy <f2 / |i1 / |u1, .ivecs, IDX, HDF5: converted into a heap buffer
//   .hdf5/.h5 (with `hdf5_dataset`, default "train"; read_ids defaults to "neighbors")
//   *-idx3-ubyte[.gz], *-idx1-ubyte[.gz], *.idx[.gz] (IDX uint8; images flattened to rows of
//   rows*cols; gzip is detected by the magic bytes 1f 8b, not by the extension)
// Every float value is checked to be finite and within +-max_abs_value. Errors name the file
// and the vector index (and column) or byte offset.

/// The largest magnitude a vector value may have: qtune computes distances in float32 (SIMD
/// kernels, hnswlib, FAISS), and with |x| <= 1e15 a squared L2 distance or an inner product over
/// up to 2^20 dimensions stays below FLT_MAX (4 * 1e30 * 2^20 = 4.2e36). Larger finite values
/// (e.g. +-3e38) overflowed to inf, which silently gave NaN errors, recall 1.0 and ids -1; they
/// are refused by every reader and by build_index / add_vectors / search instead.
inline constexpr float max_abs_value = 1e15f;

/// Throws qtune::error naming `what`, the row and the column of the first value that is NaN, +-inf
/// or larger in magnitude than max_abs (x: rows x dim floats, any stride).
void check_values(matrix_view<float> x, const std::string& what, float max_abs = max_abs_value);

struct read_options {
  std::string hdf5_dataset = "train";   ///< which HDF5 dataset to read
  std::size_t max_rows = 0;             ///< 0 = all; otherwise read only the first max_rows
  std::size_t max_dim = 1u << 20;       ///< a larger dimension is rejected as absurd
  /// Float values beyond +-max_abs are refused (NaN/Inf always are). Vectors: max_abs_value;
  /// ground-truth distances are read with FLT_MAX (qtune stores padding as FLT_MAX).
  float max_abs = max_abs_value;
};
vectors read_vectors(const std::filesystem::path& path, const read_options& opt = {});
/// .ivecs, or an int32/int64 .npy, or HDF5 dataset "neighbors", or IDX labels (n x 1).
int_matrix read_ids(const std::filesystem::path& path, const read_options& opt = {});

/// An ann-benchmarks HDF5 file: train (base), test (queries), neighbors, distances, metric.
struct ann_dataset {
  vectors train;
  vectors test;
  int_matrix neighbors;
  std::optional<vectors> distances;
  metric distance = metric::l2;   ///< from the "distance" attribute (euclidean/angular/dot)
};
ann_dataset read_ann_hdf5(const std::filesystem::path& path);

/// Base, queries and (optional) ground truth of one experiment, loaded and prepared once.
/// For metric::cosine base and queries are normalised here (see metric.hpp), so `distance`
/// stays cosine while codecs compute ip (compute_metric).
struct loaded_dataset {
  vectors base;                             ///< n_base x dim
  vectors queries;                          ///< n_queries x dim
  std::optional<int_matrix> ground_truth;   ///< n_queries x k ids into base, when given
  std::optional<vectors> ground_truth_distances;  ///< n_queries x k, row-aligned with ground_truth
  metric distance = metric::l2;
  std::string base_hash;                    ///< content_hash of base as loaded (before normalising)
  std::string queries_hash;                 ///< content_hash of queries as loaded
};
/// Loads base / queries / ground truth (empty path = none) with the row limits applied
/// (0 = all). If `base` is an ann-benchmarks HDF5 file and `queries` is empty, queries, ground
/// truth and distances come from its test / neighbors / distances and the metric from its
/// "distance" attribute. Throws qtune::error naming the file when dimensions disagree, the
/// ground truth has fewer rows than the queries, or an id is outside the (limited) base.
loaded_dataset load_dataset(const std::filesystem::path& base, const std::filesystem::path& queries,
                            const std::filesystem::path& ground_truth,
                            const std::filesystem::path& ground_truth_distances, metric distance,
                            std::size_t max_base = 0, std::size_t max_queries = 0);

// --- writers (atomic: a temporary file renamed into place) ----------------------------------
void write_fvecs(const std::filesystem::path& path, matrix_view<float> x);
void write_ivecs(const std::filesystem::path& path, const int_matrix& ids);
void write_bvecs(const std::filesystem::path& path, matrix_view<std::uint8_t> x);
enum class npy_dtype { f32, f16, i8, u8, i32 };
/// Writes a C-order 2-D .npy (version 1.0) converting x to `dtype` (f16 rounds to nearest even,
/// i8/u8 require integral values in range and throw otherwise).
void write_npy(const std::filesystem::path& path, matrix_view<float> x, npy_dtype dtype = npy_dtype::f32);
void write_ann_hdf5(const std::filesystem::path& path, const ann_dataset& ds);

/// 64-bit content hash (XXH3-64 of the shape, then the rows; stable across runs and machines)
/// of a matrix's values, used for ground-truth cache keys and provenance. 16 hex digits.
std::string content_hash(matrix_view<float> x);
/// XXH3-64 of a file's bytes (provenance of parameter files), 16 hex digits.
std::string file_hash(const std::filesystem::path& path);

}  // namespace qtune
