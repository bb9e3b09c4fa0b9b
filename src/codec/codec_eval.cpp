// Evaluation helpers over a whole matrix: parallel encode, reconstruction error and
// exhaustive search over codes (the recall of a codec without any graph).
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "codec/codec_impl.hpp"

namespace qtune {

using detail::aligned_floats;

namespace {

constexpr std::size_t rows_per_task = 256;

// Rows [begin, end) of x as one contiguous block (copied only when x has a row stride).
const float* contiguous_rows(matrix_view<float> x, std::size_t begin, std::size_t end, std::vector<float>& buf) {
  if (x.contiguous()) return x.row(begin);
  buf.resize((end - begin) * x.dim);
  for (std::size_t i = begin; i < end; ++i) std::memcpy(buf.data() + (i - begin) * x.dim, x.row(i), x.dim * sizeof(float));
  return buf.data();
}

void check_shape(const codec& c, matrix_view<float> x, const char* what) {
  QTUNE_CHECK(x.dim == c.dim(), what, ": vectors have dim ", x.dim, ", codec '", c.name(), "' expects ", c.dim());
  QTUNE_CHECK(c.is_trained(), what, ": codec '", c.name(), "' is not trained");
}

}  // namespace

void encode_parallel(const codec& c, matrix_view<float> x, std::uint8_t* codes) {
  check_shape(c, x, "encode_parallel");
  const std::size_t cs = c.code_size();
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, x.rows, rows_per_task), [&](const auto& r) {
    std::vector<float> buf;
    const float* rows = contiguous_rows(x, r.begin(), r.end(), buf);
    c.encode(r.size(), rows, codes + r.begin() * cs);
  });
}

double relative_error(const codec& c, matrix_view<float> x, const std::uint8_t* codes) {
  check_shape(c, x, "relative_error");
  if (x.rows == 0) return 0.0;
  const std::size_t cs = c.code_size();
  const std::size_t dim = x.dim;
  const double sum = tbb::parallel_reduce(
      tbb::blocked_range<std::size_t>(0, x.rows, rows_per_task), 0.0,
      [&](const auto& r, double acc) {
        std::vector<float> dec(r.size() * dim);
        c.decode(r.size(), codes + r.begin() * cs, dec.data());
        for (std::size_t i = r.begin(); i < r.end(); ++i) {
          const float* xi = x.row(i);
          const float* di = dec.data() + (i - r.begin()) * dim;
          double err = 0, norm = 0;
          for (std::size_t j = 0; j < dim; ++j) {
            const double d = static_cast<double>(xi[j]) - di[j];
            err += d * d;
            norm += static_cast<double>(xi[j]) * xi[j];
          }
          acc += norm > 0 ? err / norm : err;
        }
        return acc;
      },
      std::plus<>());
  return sum / static_cast<double>(x.rows);
}

knn_result search_codes(const codec& c, const std::uint8_t* codes, std::size_t n, matrix_view<float> queries,
                        std::size_t k) {
  check_shape(c, queries, "search_codes");
  knn_result res;
  res.nq = queries.rows;
  res.k = k;
  res.ids.assign(res.nq * k, -1);
  res.distances.assign(res.nq * k, std::numeric_limits<float>::infinity());
  if (k == 0 || n == 0 || res.nq == 0) return res;
  QTUNE_CHECK(n <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
              "search_codes: ", n, " codes exceed int32 ids");
  const std::size_t cs = c.code_size();
  const code_distance_fn fn = c.asymmetric_distance();
  const void* params = c.distance_params();
  const std::size_t kk = std::min(k, n);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, res.nq, 4), [&](const auto& r) {
    aligned_floats prepared((c.prepared_query_size() + sizeof(float) - 1) / sizeof(float) + 1);
    std::vector<std::pair<float, std::int32_t>> cand(n);
    for (std::size_t q = r.begin(); q < r.end(); ++q) {
      c.prepare_query(queries.row(q), prepared.data());
      for (std::size_t i = 0; i < n; ++i)
        cand[i] = {fn(prepared.data(), codes + i * cs, params), static_cast<std::int32_t>(i)};
      std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(kk), cand.end());
      for (std::size_t j = 0; j < kk; ++j) {
        res.ids[q * k + j] = cand[j].second;
        res.distances[q * k + j] = cand[j].first;
      }
    }
  });
  return res;
}

}  // namespace qtune
