// The search service's POST /search body (parse_search_request), then the reply it would send:
// an error's JSON (which may quote the client's bytes) or a search on a small index.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "qtune/qtune.hpp"
#include "search_service.hpp"

namespace {
constexpr std::size_t dim = 4;

const qtune::index& small_index() {
  static const std::unique_ptr<qtune::index> idx = [] {
    qtune::recommended_params p;
    p.dim = dim;
    p.k = 3;
    p.config.codec = "sq8";
    p.config.m = 8;
    p.config.ef_construction = 32;
    p.config.threads = 1;
    std::vector<float> base(64 * dim);
    for (std::size_t i = 0; i < base.size(); ++i) base[i] = float((i * 37) % 101) / 10.f;
    return qtune::build_index(p, {base.data(), 64, dim, dim}, 1);
  }();
  return *idx;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  qtune_service::service_options limits;
  limits.max_k = 50;
  limits.max_ef = 200;
  try {
    const auto r = qtune_service::parse_search_request(body, dim, 3, limits);
    if (r.vector.size() != dim || r.k < 1 || r.k > limits.max_k || r.ef > limits.max_ef) __builtin_trap();
    std::vector<std::int32_t> ids(r.k);
    std::vector<float> d(r.k);
    qtune_fuzz::expect_only_qtune_errors("search_into", [&] {
      (void)qtune::search_into(small_index(), r.vector.data(), r.k, r.ef, ids.data(), d.data());
    });
  } catch (const qtune_service::request_error& e) {
    if (e.status < 400 || e.status > 499) __builtin_trap();
    (void)qtune_service::error_json(e.message);  // must not throw (invalid UTF-8 was an HTTP 500)
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nparse_search_request: a non-request_error exception escaped: %s\n", e.what());
    std::abort();
  }
  return 0;
}
