// src/util: byte sizes, number formatting, hashing, the one half-float converter, atomic files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "qtune/error.hpp"
#include "util/atomic_file.hpp"
#include "util/byte_size.hpp"
#include "util/format.hpp"
#include "util/half.hpp"
#include "util/hash.hpp"

namespace {

std::uint32_t bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(util_byte_size, parses_and_formats) {
  EXPECT_EQ(qtune::parse_byte_size("123"), 123u);
  EXPECT_EQ(qtune::parse_byte_size("64MiB"), 64u << 20);
  EXPECT_EQ(qtune::parse_byte_size("1.5 GB"), 1500000000u);
  EXPECT_EQ(qtune::parse_byte_size("2 gib"), 2ull << 30);
  EXPECT_THROW(qtune::parse_byte_size("MiB"), qtune::error);
  EXPECT_THROW(qtune::parse_byte_size("3 furlongs"), qtune::error);
  EXPECT_EQ(qtune::human_bytes(512), "512.0 B");
  EXPECT_EQ(qtune::human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(qtune::human_bytes(64.0 * 1024 * 1024), "64.0 MiB");
  EXPECT_EQ(qtune::human_bytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
}

TEST(util_format, fixed_and_general) {
  EXPECT_EQ(qtune::fixed(0.12345, 3), "0.123");
  EXPECT_EQ(qtune::fixed(2, 0), "2");
  EXPECT_EQ(qtune::general(0.95), "0.95");
}

TEST(util_hash, fnv1a_known_values) {
  // FNV-1a 64 test vectors (Fowler/Noll/Vo): "" and "a".
  EXPECT_EQ(qtune::fnv1a64("", 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(qtune::fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(qtune::fnv1a_hex("a"), "af63dc4c8601ec8c");
  // Chaining equals hashing the concatenation.
  EXPECT_EQ(qtune::fnv1a64("bc", 2, qtune::fnv1a64("a", 1)), qtune::fnv1a64("abc", 3));
  EXPECT_NE(qtune::fnv1a64_8lanes("abcdefghij", 10), qtune::fnv1a64("abcdefghij", 10));
}

TEST(util_half, fp16_rounding_and_specials) {
  EXPECT_EQ(qtune::fp32_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(qtune::fp32_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(qtune::fp32_to_fp16(65504.f), 0x7BFF);
  EXPECT_EQ(qtune::fp32_to_fp16(65520.f), 0x7C00);              // tie rounds up to inf
  EXPECT_EQ(qtune::fp32_to_fp16(1.0f + 1.0f / 2048), 0x3C00);   // tie -> even
  EXPECT_EQ(qtune::fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(qtune::fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(qtune::fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xFC00);
  // NaN: quiet, sign and top payload bits kept (as F16C's vcvtps2ph).
  EXPECT_EQ(qtune::fp32_to_fp16(from_bits(0x7FC00000u)), 0x7E00);
  EXPECT_EQ(qtune::fp32_to_fp16(from_bits(0xFF802000u)), 0xFE01);  // signalling -> quiet
  EXPECT_TRUE(std::isnan(qtune::fp16_to_fp32(0x7C01)));
  EXPECT_EQ(bits(qtune::fp16_to_fp32(0x7C01)), 0x7FC02000u);
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto v = static_cast<std::uint16_t>(h);
    const bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
    if (nan) {
      ASSERT_EQ(qtune::fp32_to_fp16(qtune::fp16_to_fp32(v)), v | 0x200) << h;
    } else {
      ASSERT_EQ(qtune::fp32_to_fp16(qtune::fp16_to_fp32(v)), v) << h;
    }
  }
}

TEST(util_half, bf16) {
  EXPECT_EQ(qtune::fp32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(qtune::bf16_to_fp32(0x3F80), 1.0f);
  EXPECT_EQ(qtune::fp32_to_bf16(from_bits(0x3F808000u)), 0x3F80);  // tie -> even
  EXPECT_EQ(qtune::fp32_to_bf16(from_bits(0x3F818000u)), 0x3F82);
  EXPECT_TRUE(std::isnan(qtune::bf16_to_fp32(qtune::fp32_to_bf16(from_bits(0x7F800001u)))));
}

TEST(util_atomic_file, replaces_whole_or_not_at_all) {
  const auto dir = std::filesystem::temp_directory_path() / ("qtune_util_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto f = dir / "sub" / "x.txt";
  qtune::write_file_atomic(f, std::string(100000, 'a'));
  qtune::write_file_atomic(f, "new\n");
  std::ifstream in(f);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "new\n");
  {
    qtune::atomic_file never(dir / "y.txt");
    never.write("abc", 3);
  }  // not committed: neither y.txt nor the temporary remains
  EXPECT_FALSE(std::filesystem::exists(dir / "y.txt"));
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
