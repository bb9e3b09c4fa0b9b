// The body of the hnswlib peer (hnswlib_peer.hpp); included once by each of
// hnswlib_peer_avx2.cpp and hnswlib_peer_avx512.cpp, inside their `#pragma GCC target`, after
// hnswlib_peer_std.hpp, and after they set:
//   QTUNE_PEER_NS       the peer namespace (qtune_bench::<name>)
//   hnswlib             renamed per file (so the two copies' symbols never merge), and so are
//   cpuid, xgetbv, AVXCapable, AVX512Capable (non-inline globals of hnswlib.h)
#include <hnswlib/hnswlib.h>

namespace qtune_bench::QTUNE_PEER_NS {
namespace {

class peer final : public hnswlib_peer {
 public:
  peer(std::size_t dim, std::size_t n, std::size_t M, std::size_t efc, bool ip)
      : l2_(dim), ip_(dim), graph_(ip ? static_cast<hnswlib::SpaceInterface<float>*>(&ip_) : &l2_, n, M, efc, 100),
        dim_(dim), ip_metric_(ip) {}

  void add(const float* x, std::size_t n, std::size_t threads) override {
    graph_.addPoint(x, 0);
    tbb::task_arena arena(static_cast<int>(threads));
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(1, n, 16), [&](const tbb::blocked_range<std::size_t>& r) {
        for (std::size_t i = r.begin(); i < r.end(); ++i) graph_.addPoint(x + i * dim_, i);
      });
    });
  }

  void search(const float* q, std::size_t k, std::size_t ef, std::int32_t* ids) override {
    graph_.ef_ = ef;
    auto res = graph_.searchKnn(q, k);
    for (std::size_t i = res.size(); i-- > 0;) {
      ids[i] = static_cast<std::int32_t>(res.top().second);
      res.pop();
    }
  }

  double bytes_per_vector() const override {
    const std::size_t n = graph_.cur_element_count;
    std::size_t upper = 0;
    for (std::size_t i = 0; i < n; ++i) upper += std::size_t(graph_.element_levels_[i]) * graph_.size_links_per_element_;
    return double(n * graph_.size_data_per_element_ + upper) / double(n);
  }

  std::string distance_path() const override {
    // the SIMD function hnswlib chose at run time (its spaces call it for every 16 floats)
#if defined(USE_AVX512)
    if (ip_metric_ ? hnswlib::InnerProductSIMD16Ext == hnswlib::InnerProductSIMD16ExtAVX512
                   : hnswlib::L2SqrSIMD16Ext == hnswlib::L2SqrSIMD16ExtAVX512)
      return "avx512";
#endif
#if defined(USE_AVX)
    if (ip_metric_ ? hnswlib::InnerProductSIMD16Ext == hnswlib::InnerProductSIMD16ExtAVX
                   : hnswlib::L2SqrSIMD16Ext == hnswlib::L2SqrSIMD16ExtAVX)
      return "avx";
#endif
    return "sse";
  }

 private:
  hnswlib::L2Space l2_;
  hnswlib::InnerProductSpace ip_;
  hnswlib::HierarchicalNSW<float> graph_;
  std::size_t dim_;
  bool ip_metric_;
};

}  // namespace

std::unique_ptr<hnswlib_peer> make(std::size_t dim, std::size_t n, std::size_t M, std::size_t efc, bool ip) {
  return std::make_unique<peer>(dim, n, M, efc, ip);
}

}  // namespace qtune_bench::QTUNE_PEER_NS
