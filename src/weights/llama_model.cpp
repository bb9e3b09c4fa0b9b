// The llama forward pass: loading (with the shape checks) and one plain implementation used by both
// the full-sequence and the incremental (KV cache) modes.
#include "weights/llama_model.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "qtune/error.hpp"

namespace qtune::weights {

namespace {

std::uint64_t kv_uint(const model& m, const std::string& key, bool required, std::uint64_t def = 0) {
  const kv* e = m.find_kv(key);
  if (!e) {
    QTUNE_CHECK(!required, m.path.string(), ": GGUF key '", key, "' is missing (needed by the llama forward pass)");
    return def;
  }
  const gguf_value& v = e->value;
  switch (v.type) {
    case gguf_value::u8: case gguf_value::u16: case gguf_value::u32: case gguf_value::u64: return v.u;
    case gguf_value::i8: case gguf_value::i16: case gguf_value::i32: case gguf_value::i64:
      QTUNE_CHECK(v.i >= 0, m.path.string(), ": GGUF key '", key, "' is negative (", v.i, ")");
      return static_cast<std::uint64_t>(v.i);
    default: fail(m.path.string(), ": GGUF key '", key, "' is not an integer");
  }
}

double kv_float(const model& m, const std::string& key, double def) {
  const kv* e = m.find_kv(key);
  if (!e) return def;
  QTUNE_CHECK(e->value.type == gguf_value::f32 || e->value.type == gguf_value::f64, m.path.string(), ": GGUF key '",
              key, "' is not a float");
  return e->value.f;
}

const tensor& need(const model& m, const std::string& name) {
  for (const auto& t : m.tensors)
    if (t.name == name) return t;
  fail(m.path.string(), ": tensor '", name, "' is missing (needed by the llama forward pass)");
}

std::vector<float> load(const model& m, const tensor& t, std::vector<std::uint64_t> want, bool allow_nonfinite) {
  // A trailing dimension of 1 is the same shape (ggml drops it).
  std::vector<std::uint64_t> ne = t.ne;
  while (ne.size() > want.size() && ne.back() == 1) ne.pop_back();
  QTUNE_CHECK(ne == want, m.path.string(), ": tensor '", t.name, "' has shape [", [&] {
    std::string s;
    for (std::size_t i = 0; i < t.ne.size(); ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
    return s;
  }(), "], expected [", [&] {
    std::string s;
    for (std::size_t i = 0; i < want.size(); ++i) s += (i ? ", " : "") + std::to_string(want[i]);
    return s;
  }(), "] from the hyperparameters");
  std::vector<float> x = m.to_float(t);
  if (!allow_nonfinite) check_finite(t, x.data(), x.size());
  return x;
}

llama_matrix load_matrix(const model& m, const std::string& name, std::uint32_t cols, std::uint32_t rows,
                         bool allow_nonfinite) {
  llama_matrix r;
  r.name = name;
  r.rows = rows;
  r.cols = cols;
  r.w = load(m, need(m, name), {cols, rows}, allow_nonfinite);
  return r;
}

// y[n x rows] = x[n x cols] * W^T, one BLAS sgemv per row: the arithmetic of a row does not depend
// on how many rows are computed together (OpenBLAS picks different sgemm kernels by size), so the
// incremental and the full-sequence passes give the same logits.
void matmul(const llama_matrix& W, const float* x, std::size_t n, float* y, const matmul_hook* hook) {
  if (hook && *hook) (*hook)(W, x, n);
  for (std::size_t i = 0; i < n; ++i)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(W.rows), static_cast<int>(W.cols), 1.0f, W.w.data(),
                static_cast<int>(W.cols), x + i * W.cols, 1, 0.0f, y + i * W.rows, 1);
}

void rms_norm(const float* x, const float* w, std::size_t n, std::size_t dim, float eps, float* y) {
  for (std::size_t i = 0; i < n; ++i) {
    const float* xi = x + i * dim;
    float ss = 0;
    for (std::size_t j = 0; j < dim; ++j) ss += xi[j] * xi[j];
    const float scale = 1.0f / std::sqrt(ss / static_cast<float>(dim) + eps);
    for (std::size_t j = 0; j < dim; ++j) y[i * dim + j] = xi[j] * scale * w[j];
  }
}

// Normal (non-NeoX) RoPE on the first n_rot values of each head of one position's vector.
void rope(float* x, std::uint32_t n_heads, std::uint32_t head_dim, std::uint32_t n_rot, std::uint32_t pos, float base) {
  for (std::uint32_t i = 0; i < n_rot / 2; ++i) {
    const double theta = static_cast<double>(pos) * std::pow(static_cast<double>(base), -2.0 * i / n_rot);
    const float c = static_cast<float>(std::cos(theta)), s = static_cast<float>(std::sin(theta));
    for (std::uint32_t h = 0; h < n_heads; ++h) {
      float* p = x + h * head_dim + 2 * i;
      const float a = p[0], b = p[1];
      p[0] = a * c - b * s;
      p[1] = a * s + b * c;
    }
  }
}

}  // namespace

std::size_t argmax(const float* x, std::size_t n) noexcept {
  std::size_t best = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

llama_model llama_model::from_gguf(const model& m, bool allow_nonfinite) {
  const std::string f = m.path.string();
  const kv* arch = m.find_kv("general.architecture");
  QTUNE_CHECK(arch && arch->value.type == gguf_value::str, f, ": no general.architecture key; the forward pass needs a "
              "llama-architecture GGUF");
  QTUNE_CHECK(arch->value.s == "llama", f, ": architecture '", arch->value.s,
              "' is not supported (the forward pass implements 'llama' only)");
  llama_model r;
  llama_hparams& hp = r.hp_;
  hp.n_embd = static_cast<std::uint32_t>(kv_uint(m, "llama.embedding_length", true));
  hp.n_layer = static_cast<std::uint32_t>(kv_uint(m, "llama.block_count", true));
  hp.n_head = static_cast<std::uint32_t>(kv_uint(m, "llama.attention.head_count", true));
  hp.n_head_kv = static_cast<std::uint32_t>(kv_uint(m, "llama.attention.head_count_kv", false, hp.n_head));
  hp.n_ff = static_cast<std::uint32_t>(kv_uint(m, "llama.feed_forward_length", true));
  hp.n_ctx_train = static_cast<std::uint32_t>(kv_uint(m, "llama.context_length", true));
  hp.rms_eps = static_cast<float>(kv_float(m, "llama.attention.layer_norm_rms_epsilon", 1e-5));
  hp.rope_freq_base = static_cast<float>(kv_float(m, "llama.rope.freq_base", 10000.0));
  QTUNE_CHECK(hp.n_embd > 0 && hp.n_layer > 0 && hp.n_head > 0 && hp.n_head_kv > 0 && hp.n_ff > 0 && hp.n_ctx_train > 0,
              f, ": a llama hyperparameter is 0");
  QTUNE_CHECK(hp.n_embd % hp.n_head == 0 && hp.n_head % hp.n_head_kv == 0, f, ": embedding_length ", hp.n_embd,
              ", head_count ", hp.n_head, ", head_count_kv ", hp.n_head_kv, " do not divide");
  hp.n_rot = static_cast<std::uint32_t>(kv_uint(m, "llama.rope.dimension_count", false, hp.head_dim()));
  QTUNE_CHECK(hp.n_rot <= hp.head_dim() && hp.n_rot % 2 == 0, f, ": rope.dimension_count ", hp.n_rot,
              " must be even and <= the head dimension ", hp.head_dim());

  const tensor& emb = need(m, "token_embd.weight");
  QTUNE_CHECK(emb.ne.size() >= 2 && emb.ne[0] == hp.n_embd && emb.ne[1] > 0 && emb.ne[1] < (1u << 31), f,
              ": token_embd.weight must be [", hp.n_embd, ", n_vocab]");
  hp.n_vocab = static_cast<std::uint32_t>(emb.ne[1]);
  r.tok_embd_ = load(m, emb, {hp.n_embd, hp.n_vocab}, allow_nonfinite);
  const std::uint32_t E = hp.n_embd, KV = hp.kv_dim();
  for (std::uint32_t l = 0; l < hp.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    llama_layer L;
    L.attn_norm = load(m, need(m, p + "attn_norm.weight"), {E}, allow_nonfinite);
    L.ffn_norm = load(m, need(m, p + "ffn_norm.weight"), {E}, allow_nonfinite);
    L.wq = load_matrix(m, p + "attn_q.weight", E, E, allow_nonfinite);
    L.wk = load_matrix(m, p + "attn_k.weight", E, KV, allow_nonfinite);
    L.wv = load_matrix(m, p + "attn_v.weight", E, KV, allow_nonfinite);
    L.wo = load_matrix(m, p + "attn_output.weight", E, E, allow_nonfinite);
    L.w_gate = load_matrix(m, p + "ffn_gate.weight", E, hp.n_ff, allow_nonfinite);
    L.w_up = load_matrix(m, p + "ffn_up.weight", E, hp.n_ff, allow_nonfinite);
    L.w_down = load_matrix(m, p + "ffn_down.weight", hp.n_ff, E, allow_nonfinite);
    r.layers_.push_back(std::move(L));
  }
  r.out_norm_ = load(m, need(m, "output_norm.weight"), {E}, allow_nonfinite);
  bool has_output = false;
  for (const auto& t : m.tensors) has_output |= t.name == "output.weight";
  if (has_output) {
    r.output_ = load_matrix(m, "output.weight", E, hp.n_vocab, allow_nonfinite);
  } else {
    r.tied_ = true;
    r.output_.name = "token_embd.weight";
    r.output_.rows = hp.n_vocab;
    r.output_.cols = E;
    r.output_.w = r.tok_embd_;
  }
  return r;
}

llama_kv_cache llama_model::make_cache(std::uint32_t n_ctx) const {
  llama_kv_cache c;
  c.n_ctx = n_ctx;
  c.k.assign(hp_.n_layer, std::vector<float>(static_cast<std::size_t>(n_ctx) * hp_.kv_dim()));
  c.v = c.k;
  return c;
}

std::vector<const llama_matrix*> llama_model::matrices() const {
  std::vector<const llama_matrix*> out;
  for (const auto& L : layers_)
    for (const llama_matrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) out.push_back(m);
  out.push_back(&output_);
  return out;
}

void llama_model::forward(llama_kv_cache& cache, const std::int32_t* tokens, std::size_t n, float* logits,
                          const matmul_hook* hook) const {
  const std::uint32_t E = hp_.n_embd, KV = hp_.kv_dim(), HD = hp_.head_dim(), F = hp_.n_ff;
  QTUNE_CHECK(cache.k.size() == hp_.n_layer, "forward: the KV cache was made for another model");
  QTUNE_CHECK(cache.n_past + n <= cache.n_ctx, "forward: ", cache.n_past, " + ", n, " positions exceed the cache of ",
              cache.n_ctx);
  std::vector<float> x(n * E), xn(n * E), q(n * E), k(n * KV), v(n * KV), att(n * E), tmp(n * E), g(n * F), u(n * F);
  for (std::size_t i = 0; i < n; ++i) {
    QTUNE_CHECK(tokens[i] >= 0 && static_cast<std::uint32_t>(tokens[i]) < hp_.n_vocab, "forward: token id ", tokens[i],
                " out of range [0, ", hp_.n_vocab, ")");
    std::copy_n(tok_embd_.data() + static_cast<std::size_t>(tokens[i]) * E, E, x.data() + i * E);
  }
  const std::uint32_t p0 = cache.n_past, gqa = hp_.n_head / hp_.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  std::vector<float> scores(cache.n_ctx);
  for (std::uint32_t l = 0; l < hp_.n_layer; ++l) {
    const llama_layer& L = layers_[l];
    rms_norm(x.data(), L.attn_norm.data(), n, E, hp_.rms_eps, xn.data());
    matmul(L.wq, xn.data(), n, q.data(), hook);
    matmul(L.wk, xn.data(), n, k.data(), hook);
    matmul(L.wv, xn.data(), n, v.data(), hook);
    for (std::size_t i = 0; i < n; ++i) {
      const auto pos = static_cast<std::uint32_t>(p0 + i);
      rope(q.data() + i * E, hp_.n_head, HD, hp_.n_rot, pos, hp_.rope_freq_base);
      rope(k.data() + i * KV, hp_.n_head_kv, HD, hp_.n_rot, pos, hp_.rope_freq_base);
      std::copy_n(k.data() + i * KV, KV, cache.k[l].data() + static_cast<std::size_t>(pos) * KV);
      std::copy_n(v.data() + i * KV, KV, cache.v[l].data() + static_cast<std::size_t>(pos) * KV);
    }
    // Causal attention over the cache: position p0+i sees 0..p0+i.
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t n_kv = p0 + i + 1;
      for (std::uint32_t h = 0; h < hp_.n_head; ++h) {
        const float* qh = q.data() + i * E + h * HD;
        const std::size_t koff = static_cast<std::size_t>(h / gqa) * HD;
        float mx = -INFINITY;
        for (std::size_t j = 0; j < n_kv; ++j) {
          const float* kj = cache.k[l].data() + j * KV + koff;
          float s = 0;
          for (std::uint32_t d = 0; d < HD; ++d) s += qh[d] * kj[d];
          scores[j] = s * scale;
          mx = std::max(mx, scores[j]);
        }
        float sum = 0;
        for (std::size_t j = 0; j < n_kv; ++j) sum += (scores[j] = std::exp(scores[j] - mx));
        float* out = att.data() + i * E + h * HD;
        std::fill_n(out, HD, 0.0f);
        for (std::size_t j = 0; j < n_kv; ++j) {
          const float p = scores[j] / sum;
          const float* vj = cache.v[l].data() + j * KV + koff;
          for (std::uint32_t d = 0; d < HD; ++d) out[d] += p * vj[d];
        }
      }
    }
    matmul(L.wo, att.data(), n, tmp.data(), hook);
    for (std::size_t i = 0; i < n * E; ++i) x[i] += tmp[i];
    rms_norm(x.data(), L.ffn_norm.data(), n, E, hp_.rms_eps, xn.data());
    matmul(L.w_gate, xn.data(), n, g.data(), hook);
    matmul(L.w_up, xn.data(), n, u.data(), hook);
    for (std::size_t i = 0; i < n * F; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];  // SwiGLU
    matmul(L.w_down, g.data(), n, tmp.data(), hook);
    for (std::size_t i = 0; i < n * E; ++i) x[i] += tmp[i];
  }
  cache.n_past = static_cast<std::uint32_t>(p0 + n);
  if (!logits && !hook) return;
  rms_norm(x.data(), out_norm_.data(), n, E, hp_.rms_eps, xn.data());
  if (logits) {
    matmul(output_, xn.data(), n, logits, hook);
  } else if (hook && *hook) {
    (*hook)(output_, xn.data(), n);
  }
}

}  // namespace qtune::weights
