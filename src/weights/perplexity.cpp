// llama-perplexity's protocol on the llama forward pass.
#include "weights/perplexity.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include "qtune/error.hpp"

namespace qtune::weights {

namespace {

std::size_t chunk_count(const std::vector<std::int32_t>& tokens, const eval_options& opt) {
  const std::size_t all = tokens.size() / opt.n_ctx;
  return opt.n_chunks ? std::min(all, opt.n_chunks) : all;
}

// Logits of chunk c (n_ctx x n_vocab), its first token replaced by BOS.
void chunk_logits(const llama_model& m, const std::vector<std::int32_t>& tokens, std::int32_t bos, std::uint32_t n_ctx,
                  std::size_t c, llama_kv_cache& cache, std::vector<std::int32_t>& buf, std::vector<float>& logits) {
  buf.assign(tokens.begin() + static_cast<std::ptrdiff_t>(c * n_ctx),
             tokens.begin() + static_cast<std::ptrdiff_t>((c + 1) * n_ctx));
  buf[0] = bos;
  cache.clear();
  logits.resize(static_cast<std::size_t>(n_ctx) * m.hparams().n_vocab);
  m.forward(cache, buf.data(), n_ctx, logits.data());
}

// log-softmax of x (n floats) into out, in double.
void log_softmax(const float* x, std::size_t n, double* out) {
  const double mx = *std::max_element(x, x + n);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - mx);
  const double lse = mx + std::log(sum);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(x[i]) - lse;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// Running sums over scored tokens.
struct accumulator {
  double nll = 0, nll2 = 0, base_nll = 0, agree = 0;
  std::vector<double> kld;
  std::size_t n = 0;
  std::vector<double> lp, lb;

  // One scored position: the model's logits, the target, and (optionally) the base's log-probs.
  void add(const float* logits, std::size_t V, std::int32_t target, const double* base_logp) {
    lp.resize(V);
    log_softmax(logits, V, lp.data());
    const double v = -lp[static_cast<std::size_t>(target)];
    nll += v;
    nll2 += v * v;
    ++n;
    if (!base_logp) return;
    double k = 0;
    std::size_t top_m = 0, top_b = 0;
    for (std::size_t i = 0; i < V; ++i) {
      k += std::exp(base_logp[i]) * (base_logp[i] - lp[i]);
      if (lp[i] > lp[top_m]) top_m = i;
      if (base_logp[i] > base_logp[top_b]) top_b = i;
    }
    kld.push_back(std::max(k, 0.0));
    agree += top_m == top_b ? 1 : 0;
    base_nll += -base_logp[static_cast<std::size_t>(target)];
  }

  eval_result result(bool with_base) const {
    eval_result r;
    r.n_scored = n;
    const double dn = static_cast<double>(std::max<std::size_t>(n, 1));
    r.nll = nll / dn;
    r.ppl = std::exp(r.nll);
    const double var = std::max(0.0, nll2 / dn - r.nll * r.nll);
    r.ppl_stderr = n > 1 ? r.ppl * std::sqrt(var / static_cast<double>(n - 1)) : 0;
    if (with_base) {
      r.has_base = true;
      r.base_ppl = std::exp(base_nll / dn);
      double s = 0;
      for (const double k : kld) s += k;
      r.kld_mean = s / dn;
      r.kld_p99 = percentile(kld, 0.99);
      r.kld_max = kld.empty() ? 0 : *std::max_element(kld.begin(), kld.end());
      r.top1 = agree / dn;
    }
    return r;
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string read_eval_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  QTUNE_CHECK(in, path.string(), ": cannot open the text file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  QTUNE_CHECK(!text.empty(), path.string(), ": the text is empty");
  check_utf8(text, path.string());
  return text;
}

std::vector<std::int32_t> eval_tokens(const spm_tokenizer& tok, const llama_model& m, const std::string& text,
                                      const eval_options& opt, const std::string& what) {
  QTUNE_CHECK(tok.n_vocab() == m.hparams().n_vocab, "the tokenizer has ", tok.n_vocab(), " tokens but the model ",
              m.hparams().n_vocab);
  QTUNE_CHECK(opt.n_ctx >= 8 && opt.n_ctx % 2 == 0, "--ctx ", opt.n_ctx, " must be even and >= 8");
  QTUNE_CHECK(opt.n_ctx <= m.hparams().n_ctx_train, "--ctx ", opt.n_ctx, " exceeds the model's context length ",
              m.hparams().n_ctx_train, " (llama.context_length)");
  std::vector<std::int32_t> t = tok.encode(text, true);
  QTUNE_CHECK(t.size() >= opt.n_ctx, what, ": ", t.size(), " tokens, fewer than one chunk of --ctx ", opt.n_ctx);
  return t;
}

eval_result evaluate(const llama_model& m, const std::vector<std::int32_t>& tokens, std::int32_t bos,
                     const eval_options& opt, const llama_model* base) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t n_chunks = chunk_count(tokens, opt), V = m.hparams().n_vocab;
  if (base)
    QTUNE_CHECK(base->hparams().n_vocab == V, "--base has ", base->hparams().n_vocab, " tokens, the model ", V);
  const std::uint32_t first = opt.n_ctx / 2;
  accumulator acc;
  auto cache = m.make_cache(opt.n_ctx);
  auto base_cache = base ? base->make_cache(opt.n_ctx) : llama_kv_cache{};
  std::vector<std::int32_t> buf;
  std::vector<float> logits, base_logits;
  std::vector<double> blp(V);
  for (std::size_t c = 0; c < n_chunks; ++c) {
    chunk_logits(m, tokens, bos, opt.n_ctx, c, cache, buf, logits);
    if (base) chunk_logits(*base, tokens, bos, opt.n_ctx, c, base_cache, buf, base_logits);
    for (std::uint32_t j = first; j + 1 < opt.n_ctx; ++j) {
      const std::int32_t target = tokens[c * opt.n_ctx + j + 1];
      if (base) log_softmax(base_logits.data() + j * V, V, blp.data());
      acc.add(logits.data() + j * V, V, target, base ? blp.data() : nullptr);
    }
  }
  eval_result r = acc.result(base != nullptr);
  r.n_tokens = tokens.size();
  r.n_chunks = n_chunks;
  r.seconds = seconds_since(t0);
  return r;
}

kld_reference::kld_reference(const llama_model& base, std::vector<std::int32_t> tokens, std::int32_t bos,
                             const eval_options& opt)
    : tokens_(std::move(tokens)), bos_(bos), opt_(opt) {
  n_chunks_ = chunk_count(tokens_, opt_);
  n_vocab_ = base.hparams().n_vocab;
  const std::uint32_t first = opt_.n_ctx / 2;
  auto cache = base.make_cache(opt_.n_ctx);
  std::vector<std::int32_t> buf;
  std::vector<float> logits;
  std::vector<double> lp(n_vocab_);
  for (std::size_t c = 0; c < n_chunks_; ++c) {
    chunk_logits(base, tokens_, bos_, opt_.n_ctx, c, cache, buf, logits);
    for (std::uint32_t j = first; j + 1 < opt_.n_ctx; ++j) {
      log_softmax(logits.data() + j * n_vocab_, n_vocab_, lp.data());
      for (const double v : lp) base_logp_.push_back(static_cast<float>(v));
      targets_.push_back(tokens_[c * opt_.n_ctx + j + 1]);
    }
  }
}

eval_result kld_reference::compare(const llama_model& m) const {
  QTUNE_CHECK(m.hparams().n_vocab == n_vocab_, "model has ", m.hparams().n_vocab, " tokens, the base ", n_vocab_);
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint32_t first = opt_.n_ctx / 2;
  accumulator acc;
  auto cache = m.make_cache(opt_.n_ctx);
  std::vector<std::int32_t> buf;
  std::vector<float> logits;
  std::vector<double> blp(n_vocab_);
  std::size_t k = 0;
  for (std::size_t c = 0; c < n_chunks_; ++c) {
    chunk_logits(m, tokens_, bos_, opt_.n_ctx, c, cache, buf, logits);
    for (std::uint32_t j = first; j + 1 < opt_.n_ctx; ++j, ++k) {
      const float* b = base_logp_.data() + k * n_vocab_;
      std::copy(b, b + n_vocab_, blp.begin());
      acc.add(logits.data() + j * n_vocab_, n_vocab_, targets_[k], blp.data());
    }
  }
  eval_result r = acc.result(true);
  r.n_tokens = tokens_.size();
  r.n_chunks = n_chunks_;
  r.seconds = seconds_since(t0);
  return r;
}

}  // namespace qtune::weights
