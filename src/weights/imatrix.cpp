// Collecting, writing and reading llama.cpp's (legacy binary) importance matrix.
#include "weights/imatrix.hpp"

#include <cmath>
#include <cstring>

#include "qtune/error.hpp"
#include "weights/file_bytes.hpp"

namespace qtune::weights {

imatrix collect_imatrix(const llama_model& m, const std::vector<std::int32_t>& tokens, std::int32_t bos,
                        std::uint32_t n_ctx, std::size_t n_chunks, const std::string& dataset) {
  struct acc {
    std::vector<double> sum;
    std::uint64_t rows = 0;
    std::int32_t ncall = 0;
  };
  std::map<std::string, acc> stats;
  const matmul_hook hook = [&](const llama_matrix& w, const float* x, std::size_t n) {
    if (w.name.rfind("blk.", 0) != 0) return;
    acc& a = stats[w.name];
    a.sum.resize(w.cols, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::uint32_t j = 0; j < w.cols; ++j) a.sum[j] += static_cast<double>(x[i * w.cols + j]) * x[i * w.cols + j];
    a.rows += n;
    ++a.ncall;
  };
  const std::size_t all = tokens.size() / n_ctx;
  const std::size_t chunks = n_chunks ? std::min(all, n_chunks) : all;
  auto cache = m.make_cache(n_ctx);
  std::vector<std::int32_t> buf;
  for (std::size_t c = 0; c < chunks; ++c) {
    buf.assign(tokens.begin() + static_cast<std::ptrdiff_t>(c * n_ctx),
               tokens.begin() + static_cast<std::ptrdiff_t>((c + 1) * n_ctx));
    buf[0] = bos;
    cache.clear();
    m.forward(cache, buf.data(), n_ctx, nullptr, &hook);
  }
  imatrix im;
  im.last_call = static_cast<std::int32_t>(chunks);
  im.dataset = dataset;
  for (auto& [name, a] : stats) {
    imatrix_entry e;
    e.ncall = a.ncall;
    for (const double s : a.sum) e.mean_sq.push_back(static_cast<float>(s / static_cast<double>(a.rows)));
    im.entries[name] = std::move(e);
  }
  return im;
}

void write_imatrix(const std::filesystem::path& path, const imatrix& im) {
  std::vector<std::uint8_t> b;
  auto put = [&](const void* p, std::size_t n) {
    const auto* c = static_cast<const std::uint8_t*>(p);
    b.insert(b.end(), c, c + n);
  };
  auto i32 = [&](std::int32_t v) { put(&v, 4); };
  i32(static_cast<std::int32_t>(im.entries.size()));
  for (const auto& [name, e] : im.entries) {
    i32(static_cast<std::int32_t>(name.size()));
    put(name.data(), name.size());
    i32(e.ncall);
    i32(static_cast<std::int32_t>(e.mean_sq.size()));
    for (const float v : e.mean_sq) {
      const float stored = v * static_cast<float>(e.ncall);
      put(&stored, 4);
    }
  }
  i32(im.last_call);
  i32(static_cast<std::int32_t>(im.dataset.size()));
  put(im.dataset.data(), im.dataset.size());
  write_file_bytes(path, b);
}

imatrix read_imatrix(const std::filesystem::path& path) {
  const std::vector<std::uint8_t> b = read_file_bytes(path);
  const std::string f = path.string();
  std::size_t pos = 0;
  auto i32 = [&](const char* what) {
    QTUNE_CHECK(b.size() - pos >= 4, f, ": truncated imatrix (", what, " at byte ", pos, ")");
    std::int32_t v;
    std::memcpy(&v, b.data() + pos, 4);
    pos += 4;
    return v;
  };
  imatrix im;
  const std::int32_t n = i32("entry count");
  QTUNE_CHECK(n > 0 && static_cast<std::size_t>(n) <= b.size() / 16, f, ": imatrix entry count ", n,
              " does not fit the file (", b.size(), " bytes); is this a legacy llama.cpp imatrix?");
  for (std::int32_t k = 0; k < n; ++k) {
    const std::int32_t len = i32("name length");
    QTUNE_CHECK(len > 0 && static_cast<std::size_t>(len) <= b.size() - pos, f, ": entry ", k, " name length ", len,
                " runs past the end of the file");
    std::string name(reinterpret_cast<const char*>(b.data() + pos), static_cast<std::size_t>(len));
    pos += static_cast<std::size_t>(len);
    imatrix_entry e;
    e.ncall = i32("ncall");
    const std::int32_t nval = i32("nval");
    // llama.cpp's readers refuse nval < 1 too ("failed reading number of values for entry").
    QTUNE_CHECK(nval >= 1, f, ": entry '", name, "' has ", nval, " values (expected >= 1, one per input column)");
    QTUNE_CHECK(e.ncall >= 0 && static_cast<std::size_t>(nval) <= (b.size() - pos) / 4, f, ": entry '", name,
                "' has ncall ", e.ncall, " and ", nval, " values, past the end of the file");
    e.mean_sq.resize(static_cast<std::size_t>(nval));
    std::memcpy(e.mean_sq.data(), b.data() + pos, 4 * e.mean_sq.size());
    pos += 4 * e.mean_sq.size();
    for (float& v : e.mean_sq) {
      QTUNE_CHECK(std::isfinite(v) && v >= 0, f, ": entry '", name, "' holds a negative or non-finite value");
      if (e.ncall > 0) v /= static_cast<float>(e.ncall);
    }
    QTUNE_CHECK(!im.entries.count(name), f, ": duplicate imatrix entry '", name, "'");
    im.entries[name] = std::move(e);
  }
  // Optional trailer (llama.cpp reads it when present).
  if (b.size() - pos >= 4) {
    im.last_call = i32("last_call");
    if (b.size() - pos >= 4) {
      const std::int32_t len = i32("dataset length");
      QTUNE_CHECK(len >= 0 && static_cast<std::size_t>(len) <= b.size() - pos, f, ": dataset name length ", len,
                  " runs past the end of the file");
      im.dataset.assign(reinterpret_cast<const char*>(b.data() + pos), static_cast<std::size_t>(len));
    }
  }
  return im;
}

importance_map imatrix_importance(const imatrix& im, const model& m, const std::string& what) {
  importance_map out;
  for (const auto& t : m.tensors) {
    const auto it = im.entries.find(t.name);
    if (it == im.entries.end() || it->second.mean_sq.size() != t.ne[0]) continue;
    out[t.name] = it->second.mean_sq;
  }
  QTUNE_CHECK(!out.empty(), what, ": no imatrix entry matches a tensor of ", m.path.string(), " by name and row length");
  return out;
}

}  // namespace qtune::weights
