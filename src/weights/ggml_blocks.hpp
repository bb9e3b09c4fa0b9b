#pragma once
// GGUF / ggml block layouts, byte for byte (ggml-common.h). All fields little-endian; `d`, `m`,
// `dmin` are IEEE binary16 bit patterns. Element order inside a block:
//   q4_0 / q4_1: qs[j] low nibble = element j, high nibble = element j + 16.
//   q5_0 / q5_1: as q4_x for the low 4 bits; bit 4 of element j is bit j of qh (little-endian u32).
//   q8_0:        qs[j] = element j (int8).
//   q4_k:        8 sub-blocks of 32; 6-bit scale/min per sub-block packed in scales[12] (see
//                get_scale_min_k4); qs: for each 64-value chunk c, 32 bytes whose low nibbles are
//                elements 64c..64c+31 and high nibbles 64c+32..64c+63.
//   q6_k:        16 sub-blocks of 16 with int8 scales; per 128-value half h: ql[64h + l] low nibble
//                = element 128h+l, high nibble = 128h+l+64; ql[64h+32+l] = elements 128h+32+l /
//                128h+96+l; qh[32h + l] holds the top 2 bits of elements 128h + l + {0,32,64,96}
//                at bit offsets {0,2,4,6}. Codes are stored + 32.
#include <cstdint>

namespace qtune::weights::blocks {

inline constexpr int qk = 32;     // legacy block size
inline constexpr int qk_k = 256;  // K-quant super-block size

struct block_q8_0 {
  std::uint16_t d;      // scale
  std::int8_t qs[qk];   // codes
};
static_assert(sizeof(block_q8_0) == 34);

struct block_q4_0 {
  std::uint16_t d;            // scale; value = (code - 8) * d
  std::uint8_t qs[qk / 2];    // nibbles, split halves
};
static_assert(sizeof(block_q4_0) == 18);

struct block_q4_1 {
  std::uint16_t d;            // scale
  std::uint16_t m;            // min; value = code * d + m
  std::uint8_t qs[qk / 2];
};
static_assert(sizeof(block_q4_1) == 20);

struct block_q5_0 {
  std::uint16_t d;            // value = (code - 16) * d
  std::uint8_t qh[4];         // 5th bits
  std::uint8_t qs[qk / 2];    // low 4 bits
};
static_assert(sizeof(block_q5_0) == 22);

struct block_q5_1 {
  std::uint16_t d;
  std::uint16_t m;            // value = code * d + m
  std::uint8_t qh[4];
  std::uint8_t qs[qk / 2];
};
static_assert(sizeof(block_q5_1) == 24);

struct block_q4_k {
  std::uint16_t d;            // super-block scale of the 6-bit scales
  std::uint16_t dmin;         // super-block scale of the 6-bit mins
  std::uint8_t scales[12];    // 8 scales + 8 mins, 6 bits each
  std::uint8_t qs[qk_k / 2];  // 4-bit codes; value = d*sc*code - dmin*m
};
static_assert(sizeof(block_q4_k) == 2 + 2 + 12 + 128);

struct block_q6_k {
  std::uint8_t ql[qk_k / 2];      // low 4 bits
  std::uint8_t qh[qk_k / 4];      // high 2 bits
  std::int8_t scales[qk_k / 16];  // 8-bit sub-block scales
  std::uint16_t d;                // super-block scale; value = d * scale * (code - 32)
};
static_assert(sizeof(block_q6_k) == 128 + 64 + 16 + 2);

}  // namespace qtune::weights::blocks
