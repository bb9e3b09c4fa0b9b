// The plan step: the work units of a sweep (one build each, with its search-time sweep) and the
// human-readable plan with rough memory and time estimates.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "qtune/codec.hpp"
#include "qtune/sweep_steps.hpp"
#include "tune/sweep_detail.hpp"
#include "util/hash.hpp"

namespace qtune {


std::string work_unit::describe() const {
  return build.describe_build() + (sample_size ? " @ " + std::to_string(sample_size) + " rows" : std::string());
}

std::size_t unit_progress_ticks(const sweep_spec& spec, const work_unit& u) {
  const std::size_t per_setting =
      spec.grid.ef_search_auto ? 1 + spec.grid.ef_search_extra.size() : spec.grid.ef_search.size();
  return 4 + u.reranks.size() * per_setting;
}

namespace {

std::string unit_id(const sweep_context& ctx, const work_unit& u) {
  std::ostringstream key;
  key << ctx.spec_hash() << "|" << ctx.base_hash() << "|" << ctx.queries_hash() << "|" << u.build.build_key()
      << "|rr";
  for (std::size_t r : u.reranks) key << r << ",";
  key << "|f" << u.fidelity << "|s" << u.sample_size;
  char idx[16];
  std::snprintf(idx, sizeof idx, "u%04zu-", u.index);
  return idx + fnv1a_hex(key.str());
}

/// Rough model (guessed constants, not fitted: orders of magnitude only): a build evaluates
/// ~2.5 efC * M distances per insertion, a search ~2 ef * M; plus ~20 ms per point for recall
/// scoring and bootstrap intervals. Codec training (PQ k-means) is not included.
std::string plan_line(const sweep_context& ctx, const work_unit& u, double& total_s, std::size_t& searches) {
  const sweep_spec& spec = ctx.spec();
  const std::size_t n = ctx.base().rows(), dim = ctx.dim(), nt = ctx.tuning().rows(), threads = ctx.threads();
  const bool autoef = spec.grid.ef_search_auto;
  double dist_ns = 2.0 + 0.05 * 4.0 * dim;
  std::string mem = "?";
  if (u.build.is_hnsw()) {
    const std::size_t cs = codec_code_size(u.build.codec, dim);
    const double m = static_cast<double>(u.build.m);
    const double bytes_per_vec = static_cast<double>(cs) + 2.0 * m * 4 + 4 + 8 + 1.0 * m * 4 / std::log(m);
    const bool any_rr = std::any_of(u.reranks.begin(), u.reranks.end(), [](std::size_t r) { return r > 0; });
    const double total = bytes_per_vec * n + (any_rr ? 4.0 * dim * n : 0.0);
    mem = human_bytes(total) + (any_rr ? " (incl. " + human_bytes(4.0 * dim * n) + " rerank vectors)" : "");
    dist_ns = 2.0 + 0.05 * static_cast<double>(cs);
  }
  const double m_eff = u.build.m ? static_cast<double>(u.build.m) : 32.0;
  const double build_s = 2.5 * static_cast<double>(n) * u.build.ef_construction * m_eff * dist_ns * 1e-9 / threads;
  const double ef_typ = autoef ? 64.0 : spec.grid.ef_search.back() * 1.0;
  const std::size_t per_setting = autoef ? 8 + 1 + spec.grid.ef_search_extra.size() : spec.grid.ef_search.size();
  const std::size_t measured = autoef ? 1 + spec.grid.ef_search_extra.size() : spec.grid.ef_search.size();
  const double nr = static_cast<double>(u.reranks.size());
  const double search_s =
      nr * (static_cast<double>(per_setting) * nt +
            static_cast<double>(measured) * nt * spec.repetitions * (1.0 + 1.0 / threads)) *
          2.0 * ef_typ * m_eff * dist_ns * 1e-9 +
      0.02 * nr * static_cast<double>(measured);
  searches += u.reranks.size() * measured;
  total_s += build_s + search_s;
  std::ostringstream o;
  o << "    " << u.describe() << "  rerank {";
  for (std::size_t i = 0; i < u.reranks.size(); ++i) o << (i ? "," : "") << u.reranks[i];
  o << "}  memory ~" << mem << "  time ~" << std::fixed << std::setprecision(1) << build_s + search_s << " s\n";
  return o.str();
}

std::string plan_text(const sweep_context& ctx, const std::vector<work_unit>& units, double& total_s) {
  const sweep_spec& spec = ctx.spec();
  const bool autoef = spec.grid.ef_search_auto;
  std::ostringstream o;
  o << "plan for " << spec.name << " (" << spec.file.string() << ")\n"
    << "  data: " << ctx.base().rows() << " base x " << ctx.dim() << " dims, " << ctx.n_queries() << " queries -> "
    << ctx.tuning().rows() << " tuning + " << ctx.validation().rows() << " validation, metric "
    << to_string(spec.dataset.distance) << ", k = " << spec.k << ", target recall " << spec.target_recall << "\n"
    << "  ef_search: "
    << (autoef ? "auto (gallop + bisect up to " + std::to_string(spec.grid.ef_search_max) + ")" : std::string("list"))
    << ", objective " << to_string(spec.objective)
    << (spec.memory_budget ? ", memory budget " + human_bytes(static_cast<double>(spec.memory_budget)) : "") << "\n"
    << "  threads " << ctx.threads() << ", repetitions " << spec.repetitions << "\n"
    << "  builds (" << units.size() << "):\n";
  total_s = 0;
  std::size_t searches = 0;
  for (const auto& u : units) o << plan_line(ctx, u, total_s, searches);
  o << "  measured points: " << searches << (autoef ? " (auto: each setting's ef plus extras)" : "") << "\n"
    << "  estimated time: ~" << std::fixed << std::setprecision(0) << total_s
    << " s (rough model; ground truth and codec training not included)\n"
    << "  output: " << output_dir_of(spec).string() << "/\n";
  return o.str();
}

}  // namespace

std::vector<work_unit> plan_units(const sweep_context& ctx,
                                  const std::vector<std::pair<index_config, std::vector<std::size_t>>>& builds,
                                  std::size_t fidelity, std::size_t sample_size) {
  const sweep_spec& spec = ctx.spec();
  std::vector<work_unit> out;
  for (const auto& [cfg, reranks] : builds) {
    work_unit u;
    u.index = out.size();
    u.build = cfg;
    u.build.distance = spec.dataset.distance;
    u.build.seed = spec.seed;
    u.build.threads = spec.threads;
    u.build.ef_search = 0;
    u.reranks = reranks.empty() ? std::vector<std::size_t>{0} : reranks;
    u.build.rerank = *std::max_element(u.reranks.begin(), u.reranks.end());  // keeps full rows
    u.fidelity = fidelity;
    u.sample_size = sample_size;
    u.id = unit_id(ctx, u);
    out.push_back(std::move(u));
  }
  return out;
}

sweep_plan plan_sweep(const sweep_context& ctx) {
  const sweep_spec& spec = ctx.spec();
  std::vector<std::pair<index_config, std::vector<std::size_t>>> builds;
  for (const auto& c : spec.grid.codecs)
    for (std::size_t m : spec.grid.m)
      for (std::size_t efc : spec.grid.ef_construction) {
        index_config b;
        b.kind = "hnsw", b.codec = c, b.m = m, b.ef_construction = efc;
        const bool lossless = parse_codec_spec(c).lossless();  // rerank is pointless
        std::vector<std::size_t> reranks;
        for (std::size_t r : spec.grid.rerank)
          if (r == 0 || !lossless) reranks.push_back(r);
        builds.emplace_back(b, reranks);
      }
  for (const auto& f : spec.grid.faiss)
    for (std::size_t efc : spec.grid.ef_construction) {
      index_config b;
      b.kind = index_kind{index_family::faiss, f}.to_string(), b.codec.clear(), b.m = 0, b.ef_construction = efc;
      builds.emplace_back(b, std::vector<std::size_t>{0});
    }
  sweep_plan plan;
  plan.spec_hash = ctx.spec_hash();
  plan.data_hash = fnv1a_hex(ctx.base_hash() + "|" + ctx.queries_hash());
  plan.units = plan_units(ctx, builds, 0, 0);
  for (const auto& u : plan.units) plan.progress_total += unit_progress_ticks(spec, u);
  plan.text = plan_text(ctx, plan.units, plan.estimated_seconds);
  return plan;
}

}  // namespace qtune
