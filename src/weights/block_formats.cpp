// The block formats: ggml's type table over the shared scalar-quantization core
// (src/codec/scalar_quant.hpp). Without importance weights every quantizer reproduces
// llama.cpp's quantize_row_*_ref operation for operation, so the bytes match.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "codec/scalar_quant.hpp"
#include "qtune/error.hpp"
#include "qtune/weights.hpp"
#include "weights/ggml_blocks.hpp"

namespace qtune::weights {
namespace {

using namespace blocks;
using sq::fp16_to_fp32;
using sq::fp32_to_fp16;
using sq::nearest_int;

// ---- legacy 32-value blocks -----------------------------------------------------------------

// The importance path of the legacy types follows ggml's *_impl: per-value weights
// qw_j * sqrt(sigma2 + x_j^2), sigma2 = mean square of the row.
void importance_weights(const float* x, const float* qw, float sigma2, int n, float* w) {
  for (int j = 0; j < n; ++j) w[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

void quantize_q8_0(const float* x, block_q8_0* y) {
  float amax = 0.0f;
  for (int j = 0; j < qk; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / ((1 << 7) - 1);
  const float id = d ? 1.0f / d : 0.0f;
  y->d = fp32_to_fp16(d);
  int codes[qk];
  sq::quantize_symmetric(x, qk, id, 0, -128, 127, codes, sq::rounding::half_away_from_zero);
  for (int j = 0; j < qk; ++j) y->qs[j] = static_cast<std::int8_t>(codes[j]);
}

// Largest-magnitude value with its sign (q4_0 / q5_0 map it to the most negative code).
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j)
    if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); max = x[j]; }
  return max;
}

void quantize_q4_0(const float* x, block_q4_0* y, const float* w) {
  std::uint8_t codes[qk];
  if (w) {
    std::int8_t L[qk];
    const float d = sq::make_qx_quants(qk, 8, x, L, 1, w);
    y->d = fp32_to_fp16(d);
    for (int j = 0; j < qk; ++j) codes[j] = static_cast<std::uint8_t>(L[j]);
  } else {
    const float d = signed_absmax(x, qk) / -8;
    const float id = d ? 1.0f / d : 0.0f;
    y->d = fp32_to_fp16(d);
    sq::quantize_offset_truncate(x, qk, id, 8.5f, 15, codes);
  }
  sq::pack_nibbles_split(codes, qk, y->qs);
}

void quantize_q5_0(const float* x, block_q5_0* y, const float* w) {
  std::uint8_t codes[qk];
  if (w) {
    std::int8_t L[qk];
    const float d = sq::make_qx_quants(qk, 16, x, L, 1, w);
    y->d = fp32_to_fp16(d);
    for (int j = 0; j < qk; ++j) codes[j] = static_cast<std::uint8_t>(L[j]);
  } else {
    const float d = signed_absmax(x, qk) / -16;
    const float id = d ? 1.0f / d : 0.0f;
    y->d = fp32_to_fp16(d);
    sq::quantize_offset_truncate(x, qk, id, 16.5f, 31, codes);
  }
  sq::pack_nibbles_split(codes, qk, y->qs);
  std::uint32_t qh = 0;
  for (int j = 0; j < qk; ++j) qh |= static_cast<std::uint32_t>((codes[j] >> 4) & 1u) << j;
  std::memcpy(y->qh, &qh, 4);
}

// q4_1 / q5_1: affine min/max; returns codes in [0, nmax].
template <int Nmax>
void quantize_affine_block(const float* x, const float* w, std::uint16_t* d_out, std::uint16_t* m_out,
                           std::uint8_t* codes) {
  if (w) {
    std::uint8_t aux[qk];
    float the_min = 0;
    const float d = sq::make_qkx2_quants(qk, Nmax, x, w, codes, &the_min, aux, -0.9f, 0.05f, 36, false);
    *d_out = fp32_to_fp16(d);
    *m_out = fp32_to_fp16(-the_min);
    return;
  }
  float min = x[0], max = x[0];
  for (int j = 1; j < qk; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  const float d = (max - min) / Nmax;
  const float id = d ? 1.0f / d : 0.0f;
  *d_out = fp32_to_fp16(d);
  *m_out = fp32_to_fp16(min);
  sq::quantize_affine(x, qk, min, id, Nmax, codes, sq::rounding::truncate_after_half);
}

void quantize_q4_1(const float* x, block_q4_1* y, const float* w) {
  std::uint8_t codes[qk];
  quantize_affine_block<15>(x, w, &y->d, &y->m, codes);
  sq::pack_nibbles_split(codes, qk, y->qs);
}

void quantize_q5_1(const float* x, block_q5_1* y, const float* w) {
  std::uint8_t codes[qk];
  quantize_affine_block<31>(x, w, &y->d, &y->m, codes);
  sq::pack_nibbles_split(codes, qk, y->qs);
  std::uint32_t qh = 0;
  for (int j = 0; j < qk; ++j) qh |= static_cast<std::uint32_t>((codes[j] >> 4) & 1u) << j;
  std::memcpy(y->qh, &qh, 4);
}

// ---- K-quants -------------------------------------------------------------------------------

void get_scale_min_k4(int j, const std::uint8_t* q, std::uint8_t* d, std::uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

// qw: 256 importance weights or null (reference path).
void quantize_q4_k(const float* x, block_q4_k* y, const float* qw) {
  std::uint8_t L[qk_k];
  std::uint8_t Laux[32];
  float weights[32];
  float mins[qk_k / 32];
  float scales[qk_k / 32];
  float sigma2 = 0;
  if (qw) {
    float sum_x2 = 0;
    for (int l = 0; l < qk_k; ++l) sum_x2 += x[l] * x[l];
    sigma2 = 2 * sum_x2 / qk_k;
  }
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < qk_k / 32; ++j) {
    if (qw) {
      importance_weights(x + 32 * j, qw + 32 * j, sigma2, 32, weights);
      scales[j] = sq::make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36,
                                       false);
    } else {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
      scales[j] = sq::make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.f, 0.1f, 20,
                                       false);
    }
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < qk_k / 32; ++j) {
    std::uint8_t ls = static_cast<std::uint8_t>(nearest_int(inv_scale * scales[j]));
    std::uint8_t lm = static_cast<std::uint8_t>(nearest_int(inv_min * mins[j]));
    ls = std::min<std::uint8_t>(63, ls);
    lm = std::min<std::uint8_t>(63, lm);
    if (j < 4) {
      y->scales[j] = ls;
      y->scales[j + 4] = lm;
    } else {
      y->scales[j + 4] = static_cast<std::uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      y->scales[j - 4] |= static_cast<std::uint8_t>((ls >> 4) << 6);
      y->scales[j - 0] |= static_cast<std::uint8_t>((lm >> 4) << 6);
    }
  }
  y->d = fp32_to_fp16(max_scale / 63.f);
  y->dmin = fp32_to_fp16(max_min / 63.f);
  for (int j = 0; j < qk_k / 32; ++j) {
    std::uint8_t sc, m;
    get_scale_min_k4(j, y->scales, &sc, &m);
    const float d = fp16_to_fp32(y->d) * sc;
    if (!d) continue;
    const float dm = fp16_to_fp32(y->dmin) * m;
    for (int ii = 0; ii < 32; ++ii) {
      const int l = nearest_int((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<std::uint8_t>(std::max(0, std::min(15, l)));
    }
  }
  for (int j = 0; j < qk_k; j += 64) {
    // 64 values -> 32 bytes: same split-halves order as q4_0 on a 64-value chunk.
    sq::pack_nibbles_split(L + j, 64, y->qs + j / 2);
  }
}

void quantize_q6_k(const float* x, block_q6_k* y, const float* qw) {
  std::int8_t L[qk_k];
  float scales[qk_k / 16];
  float weights[16];
  float sigma2 = 0;
  if (qw) {
    float sum_x2 = 0;
    for (int l = 0; l < qk_k; ++l) sum_x2 += x[l] * x[l];
    sigma2 = 2 * sum_x2 / qk_k;
  }
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < qk_k / 16; ++ib) {
    const float* w = nullptr;
    if (qw) {
      importance_weights(x + 16 * ib, qw + 16 * ib, sigma2, 16, weights);
      w = weights;
    }
    const float scale = sq::make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1, w);
    scales[ib] = scale;
    const float abs_scale = std::fabs(scale);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scale;
    }
  }
  if (max_abs_scale < sq::group_max_eps) {
    std::memset(y, 0, sizeof(*y));
    y->d = fp32_to_fp16(0.f);
    return;
  }
  const float iscale = -128.f / max_scale;
  y->d = fp32_to_fp16(1 / iscale);
  for (int ib = 0; ib < qk_k / 16; ++ib)
    y->scales[ib] = static_cast<std::int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
  for (int j = 0; j < qk_k / 16; ++j) {
    const float d = fp16_to_fp32(y->d) * y->scales[j];
    if (!d) continue;
    for (int ii = 0; ii < 16; ++ii) {
      const int l = std::max(-32, std::min(31, nearest_int(x[16 * j + ii] / d)));
      L[16 * j + ii] = static_cast<std::int8_t>(l + 32);
    }
  }
  std::uint8_t* ql = y->ql;
  std::uint8_t* qh = y->qh;
  for (int j = 0; j < qk_k; j += 128) {
    for (int l = 0; l < 32; ++l) {
      const std::uint8_t q1 = L[j + l + 0] & 0xF;
      const std::uint8_t q2 = L[j + l + 32] & 0xF;
      const std::uint8_t q3 = L[j + l + 64] & 0xF;
      const std::uint8_t q4 = L[j + l + 96] & 0xF;
      ql[l + 0] = static_cast<std::uint8_t>(q1 | (q3 << 4));
      ql[l + 32] = static_cast<std::uint8_t>(q2 | (q4 << 4));
      qh[l] = static_cast<std::uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                        ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
}

// ---- per-group int8 / int4 (GPTQ/AWQ-style storage) -------------------------------------------

void quantize_int8_g(const float* x, std::size_t g, std::uint8_t* out, const float* w) {
  std::int8_t* qs = reinterpret_cast<std::int8_t*>(out + 2);
  if (w) {
    std::vector<std::int8_t> L(g);
    const float d = sq::make_qx_quants(static_cast<int>(g), 128, x, L.data(), 1, w);
    const std::uint16_t h = fp32_to_fp16(d);
    std::memcpy(out, &h, 2);
    for (std::size_t j = 0; j < g; ++j) qs[j] = static_cast<std::int8_t>(static_cast<std::uint8_t>(L[j]) - 128);
    return;
  }
  float amax = 0.0f;
  for (std::size_t j = 0; j < g; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float id = d ? 1.0f / d : 0.0f;
  const std::uint16_t h = fp32_to_fp16(d);
  std::memcpy(out, &h, 2);
  std::vector<int> codes(g);
  sq::quantize_symmetric(x, g, id, 0, -127, 127, codes.data(), sq::rounding::half_away_from_zero);
  for (std::size_t j = 0; j < g; ++j) qs[j] = static_cast<std::int8_t>(codes[j]);
}

void quantize_int4_g(const float* x, std::size_t g, std::uint8_t* out, const float* w) {
  std::vector<std::uint8_t> codes(g);
  float d = 0, lo = 0;
  if (w) {
    std::vector<std::uint8_t> aux(g);
    float the_min = 0;
    d = sq::make_qkx2_quants(static_cast<int>(g), 15, x, w, codes.data(), &the_min, aux.data(), -0.9f, 0.05f, 36,
                             false);
    lo = -the_min;
  } else {
    float min = x[0], max = x[0];
    for (std::size_t j = 1; j < g; ++j) {
      min = std::min(min, x[j]);
      max = std::max(max, x[j]);
    }
    // The stored (fp16) scale and min are what decoding sees, so round them first.
    d = fp16_to_fp32(fp32_to_fp16((max - min) / 15));
    lo = fp16_to_fp32(fp32_to_fp16(min));
    sq::quantize_affine(x, g, lo, d ? 1.0f / d : 0.0f, 15, codes.data(), sq::rounding::half_to_even);
  }
  const std::uint16_t hd = fp32_to_fp16(d), hm = fp32_to_fp16(lo);
  std::memcpy(out, &hd, 2);
  std::memcpy(out + 2, &hm, 2);
  sq::pack_nibbles(codes.data(), g, out + 4);
}

// ---- dequantization -------------------------------------------------------------------------

void dequantize_blocks(wformat f, const std::uint8_t* c, std::size_t n, float* y) {
  switch (f.type) {
    case wtype::f32: std::memcpy(y, c, n * 4); return;
    case wtype::f16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, c + 2 * i, 2);
        y[i] = fp16_to_fp32(h);
      }
      return;
    case wtype::bf16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, c + 2 * i, 2);
        y[i] = sq::bf16_to_fp32(h);
      }
      return;
    case wtype::q8_0: {
      const auto* b = reinterpret_cast<const block_q8_0*>(c);
      for (std::size_t i = 0; i < n / qk; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < qk; ++j) y[i * qk + j] = b[i].qs[j] * d;
      }
      return;
    }
    case wtype::q4_0: {
      const auto* b = reinterpret_cast<const block_q4_0*>(c);
      std::uint8_t codes[qk];
      for (std::size_t i = 0; i < n / qk; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        sq::unpack_nibbles_split(b[i].qs, qk, codes);
        for (int j = 0; j < qk; ++j) y[i * qk + j] = (codes[j] - 8) * d;
      }
      return;
    }
    case wtype::q4_1: {
      const auto* b = reinterpret_cast<const block_q4_1*>(c);
      std::uint8_t codes[qk];
      for (std::size_t i = 0; i < n / qk; ++i) {
        const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
        sq::unpack_nibbles_split(b[i].qs, qk, codes);
        for (int j = 0; j < qk; ++j) y[i * qk + j] = codes[j] * d + m;
      }
      return;
    }
    case wtype::q5_0:
    case wtype::q5_1: {
      const bool has_min = f.type == wtype::q5_1;
      const std::size_t bs = has_min ? sizeof(block_q5_1) : sizeof(block_q5_0);
      std::uint8_t codes[qk];
      for (std::size_t i = 0; i < n / qk; ++i) {
        const std::uint8_t* p = c + i * bs;
        std::uint16_t hd, hm = 0;
        std::memcpy(&hd, p, 2);
        if (has_min) std::memcpy(&hm, p + 2, 2);
        const std::uint8_t* qh_p = p + (has_min ? 4 : 2);
        std::uint32_t qh;
        std::memcpy(&qh, qh_p, 4);
        sq::unpack_nibbles_split(qh_p + 4, qk, codes);
        const float d = fp16_to_fp32(hd), m = fp16_to_fp32(hm);
        for (int j = 0; j < qk; ++j) {
          const int code = codes[j] | static_cast<int>(((qh >> j) & 1u) << 4);
          y[i * qk + j] = has_min ? code * d + m : (code - 16) * d;
        }
      }
      return;
    }
    case wtype::q4_k: {
      const auto* b = reinterpret_cast<const block_q4_k*>(c);
      for (std::size_t i = 0; i < n / qk_k; ++i) {
        const float d = fp16_to_fp32(b[i].d), min = fp16_to_fp32(b[i].dmin);
        float* out = y + i * qk_k;
        const std::uint8_t* q = b[i].qs;
        for (int j = 0, is = 0; j < qk_k; j += 64, is += 2, q += 32) {
          std::uint8_t sc, m;
          get_scale_min_k4(is, b[i].scales, &sc, &m);
          const float d1 = d * sc, m1 = min * m;
          get_scale_min_k4(is + 1, b[i].scales, &sc, &m);
          const float d2 = d * sc, m2 = min * m;
          for (int l = 0; l < 32; ++l) *out++ = d1 * (q[l] & 0xF) - m1;
          for (int l = 0; l < 32; ++l) *out++ = d2 * (q[l] >> 4) - m2;
        }
      }
      return;
    }
    case wtype::q6_k: {
      const auto* b = reinterpret_cast<const block_q6_k*>(c);
      for (std::size_t i = 0; i < n / qk_k; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        const std::uint8_t* ql = b[i].ql;
        const std::uint8_t* qh = b[i].qh;
        const std::int8_t* sc = b[i].scales;
        float* out = y + i * qk_k;
        for (int h = 0; h < qk_k; h += 128, ql += 64, qh += 32, sc += 8, out += 128) {
          for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int q1 = static_cast<int>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = static_cast<int>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = static_cast<int>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = static_cast<int>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            out[l + 0] = d * sc[is + 0] * q1;
            out[l + 32] = d * sc[is + 2] * q2;
            out[l + 64] = d * sc[is + 4] * q3;
            out[l + 96] = d * sc[is + 6] * q4;
          }
        }
      }
      return;
    }
    case wtype::int8_g: {
      const std::size_t g = f.group, bs = 2 + g;
      for (std::size_t i = 0; i < n / g; ++i) {
        std::uint16_t hd;
        std::memcpy(&hd, c + i * bs, 2);
        const float d = fp16_to_fp32(hd);
        const auto* qs = reinterpret_cast<const std::int8_t*>(c + i * bs + 2);
        for (std::size_t j = 0; j < g; ++j) y[i * g + j] = qs[j] * d;
      }
      return;
    }
    case wtype::int4_g: {
      const std::size_t g = f.group, bs = 4 + g / 2;
      std::vector<std::uint8_t> codes(g);
      for (std::size_t i = 0; i < n / g; ++i) {
        std::uint16_t hd, hm;
        std::memcpy(&hd, c + i * bs, 2);
        std::memcpy(&hm, c + i * bs + 2, 2);
        sq::unpack_nibbles(c + i * bs + 4, g, codes.data());
        sq::dequantize_affine(codes.data(), g, fp16_to_fp32(hm), fp16_to_fp32(hd), y + i * g);
      }
      return;
    }
  }
}

// One row of n_per_row values; qw: n_per_row importance weights or null.
void quantize_row(wformat f, const float* x, std::size_t n, std::uint8_t* out, const float* qw) {
  const type_traits t = traits(f);
  const std::size_t nb = n / t.blck_size;
  // Legacy types with importance: per-value weights from the row's mean square (ggml's *_impl).
  std::vector<float> w;
  float sigma2 = 0;
  if (qw && (f.type == wtype::q4_0 || f.type == wtype::q4_1 || f.type == wtype::q5_0 ||
             f.type == wtype::q5_1 || f.type == wtype::int8_g || f.type == wtype::int4_g)) {
    double sum_x2 = 0;
    for (std::size_t j = 0; j < n; ++j) sum_x2 += static_cast<double>(x[j]) * x[j];
    sigma2 = static_cast<float>(sum_x2 / static_cast<double>(n));
    w.resize(n);
    for (std::size_t j = 0; j < n; ++j) w[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
  }
  const float* wp = w.empty() ? nullptr : w.data();
  for (std::size_t i = 0; i < nb; ++i) {
    const float* xb = x + i * t.blck_size;
    std::uint8_t* yb = out + i * t.type_size;
    const float* wb = wp ? wp + i * t.blck_size : nullptr;
    const float* qb = qw ? qw + i * t.blck_size : nullptr;
    switch (f.type) {
      case wtype::f32: std::memcpy(yb, xb, 4); break;
      case wtype::f16: {
        const std::uint16_t h = fp32_to_fp16(*xb);
        std::memcpy(yb, &h, 2);
        break;
      }
      case wtype::bf16: {
        std::uint32_t u;
        std::memcpy(&u, xb, 4);
        // round to nearest even (NaN kept quiet)
        std::uint16_t h = ((u & 0x7fffffffu) > 0x7f800000u)
                              ? static_cast<std::uint16_t>((u >> 16) | 64)
                              : static_cast<std::uint16_t>((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
        std::memcpy(yb, &h, 2);
        break;
      }
      case wtype::q8_0: quantize_q8_0(xb, reinterpret_cast<block_q8_0*>(yb)); break;  // no imatrix, as ggml
      case wtype::q4_0: quantize_q4_0(xb, reinterpret_cast<block_q4_0*>(yb), wb); break;
      case wtype::q4_1: quantize_q4_1(xb, reinterpret_cast<block_q4_1*>(yb), wb); break;
      case wtype::q5_0: quantize_q5_0(xb, reinterpret_cast<block_q5_0*>(yb), wb); break;
      case wtype::q5_1: quantize_q5_1(xb, reinterpret_cast<block_q5_1*>(yb), wb); break;
      case wtype::q4_k: quantize_q4_k(xb, reinterpret_cast<block_q4_k*>(yb), qb); break;
      case wtype::q6_k: quantize_q6_k(xb, reinterpret_cast<block_q6_k*>(yb), qb); break;
      case wtype::int8_g: quantize_int8_g(xb, f.group, yb, wb); break;
      case wtype::int4_g: quantize_int4_g(xb, f.group, yb, wb); break;
    }
  }
}

}  // namespace

// ---- the type table ---------------------------------------------------------------------------

type_traits traits(wformat f) noexcept {
  switch (f.type) {
    case wtype::f32: return {"f32", 1, 4, false, true};
    case wtype::f16: return {"f16", 1, 2, false, true};
    case wtype::bf16: return {"bf16", 1, 2, false, true};
    case wtype::q8_0: return {"q8_0", qk, sizeof(block_q8_0), true, true};
    case wtype::q4_0: return {"q4_0", qk, sizeof(block_q4_0), true, true};
    case wtype::q4_1: return {"q4_1", qk, sizeof(block_q4_1), true, true};
    case wtype::q5_0: return {"q5_0", qk, sizeof(block_q5_0), true, true};
    case wtype::q5_1: return {"q5_1", qk, sizeof(block_q5_1), true, true};
    case wtype::q4_k: return {"q4_k", qk_k, sizeof(block_q4_k), true, true};
    case wtype::q6_k: return {"q6_k", qk_k, sizeof(block_q6_k), true, true};
    case wtype::int8_g: return {"int8_g", f.group, 2 + f.group, true, false};
    case wtype::int4_g: return {"int4_g", f.group, 4 + f.group / 2, true, false};
  }
  return {"?", 1, 4, false, false};
}

std::string to_string(wformat f) {
  std::string s = traits(f).name;
  if (f.type == wtype::int8_g || f.type == wtype::int4_g) s += std::to_string(f.group);
  return s;
}

wformat parse_format(const std::string& s0) {
  std::string s = s0;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  static const std::pair<const char*, wtype> names[] = {
      {"f32", wtype::f32},   {"f16", wtype::f16},   {"bf16", wtype::bf16}, {"q8_0", wtype::q8_0},
      {"q4_0", wtype::q4_0}, {"q4_1", wtype::q4_1}, {"q5_0", wtype::q5_0}, {"q5_1", wtype::q5_1},
      {"q4_k", wtype::q4_k}, {"q6_k", wtype::q6_k}};
  for (const auto& [name, t] : names)
    if (s == name) return {t, 0};
  for (const auto& [prefix, t] : {std::pair{"int8_g", wtype::int8_g}, std::pair{"int4_g", wtype::int4_g}}) {
    const std::string p = prefix;
    if (s.rfind(p, 0) == 0 && s.size() > p.size() && s.size() <= p.size() + 4 &&
        std::all_of(s.begin() + static_cast<long>(p.size()), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      const unsigned long g = std::stoul(s.substr(p.size()));
      QTUNE_CHECK(g >= 2 && g <= 4096 && g % 2 == 0, "weight format '", s0,
                  "': group size must be an even number in 2..4096, got ", g);
      return {t, static_cast<std::uint32_t>(g)};
    }
  }
  fail("unknown weight format '", s0,
       "' (expected f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q6_k, int8_g<G>, int4_g<G>)");
}

wformat format_from_gguf_id(std::uint32_t id) {
  switch (id) {
    case 0: case 1: case 2: case 3: case 6: case 7: case 8: case 12: case 14: case 30:
      return {static_cast<wtype>(id), 0};
    default: break;
  }
  fail("ggml type id ", id, " is not supported by qtune (supported: 0 F32, 1 F16, 2 Q4_0, 3 Q4_1, 6 Q5_0, 7 Q5_1, ",
       "8 Q8_0, 12 Q4_K, 14 Q6_K, 30 BF16)");
}

std::vector<wformat> quantized_formats() {
  return {{wtype::q4_0, 0}, {wtype::q4_1, 0}, {wtype::q5_0, 0}, {wtype::q5_1, 0},
          {wtype::q8_0, 0}, {wtype::q4_k, 0}, {wtype::q6_k, 0}};
}

std::size_t row_size(wformat f, std::size_t n) noexcept {
  const type_traits t = traits(f);
  return n / t.blck_size * t.type_size;
}

double bits_per_weight(wformat f) noexcept {
  const type_traits t = traits(f);
  return 8.0 * static_cast<double>(t.type_size) / static_cast<double>(t.blck_size);
}

void quantize(wformat f, const float* x, std::size_t n_rows, std::size_t n_per_row, std::uint8_t* out,
              const float* importance) {
  const type_traits t = traits(f);
  QTUNE_CHECK(t.blck_size > 0 && n_per_row % t.blck_size == 0, "quantize to ", to_string(f), ": row length ",
              n_per_row, " is not a multiple of the block size ", t.blck_size);
  const std::size_t rs = row_size(f, n_per_row);
  auto body = [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) quantize_row(f, x + r * n_per_row, n_per_row, out + r * rs, importance);
  };
  if (n_rows * n_per_row < (1u << 16)) {
    body(0, n_rows);
  } else {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n_rows, 16),
                      [&](const tbb::blocked_range<std::size_t>& r) { body(r.begin(), r.end()); });
  }
}

void dequantize(wformat f, const std::uint8_t* codes, std::size_t n, float* x) {
  const type_traits t = traits(f);
  QTUNE_CHECK(t.blck_size > 0 && n % t.blck_size == 0, "dequantize ", to_string(f), ": ", n,
              " values is not a multiple of the block size ", t.blck_size);
  dequantize_blocks(f, codes, n, x);
}

}  // namespace qtune::weights
