// safetensors: the real stories260K file, the F32 writer, and one crafted file per rejection.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "codec/scalar_quant.hpp"
#include "qtune/weights.hpp"
#include "test_data.hpp"
#include "weights/weights_test_util.hpp"

namespace w = qtune::weights;
using qtune::testing::bytes_builder;

namespace {

bytes_builder st(const std::string& header, std::size_t data_bytes) {
  bytes_builder b;
  b.u64(header.size()).raw(header).zeros(data_bytes);
  return b;
}

}  // namespace

TEST(weights_safetensors, stories260k_matches_the_gguf) {
  QTUNE_REQUIRE_DATA_FILE(path, "stories260k/stories260K.safetensors");
  QTUNE_REQUIRE_DATA_FILE(gpath, "gguf/stories260K.gguf");
  const w::model s = w::read_safetensors(path);
  const w::model g = w::read_gguf(gpath);
  ASSERT_EQ(s.tensors.size(), 48u);
  for (const auto& t : s.tensors) {
    const auto& gt = g.find(t.name);
    EXPECT_EQ(t.ne, gt.ne) << t.name;
    EXPECT_EQ(s.to_float(t), g.to_float(gt)) << t.name;
  }
}

TEST(weights_safetensors, f16_bf16_and_the_writer_round_trip) {
  // Two tensors: F16 [2, 3] and BF16 [4].
  std::vector<std::uint16_t> f16 = {qtune::sq::fp32_to_fp16(1.5f), qtune::sq::fp32_to_fp16(-2.0f), 0, 0x3C00, 0x4000,
                                    0x4200};
  std::vector<std::uint16_t> bf16 = {0x3F80, 0xC000, 0x4040, 0x0000};  // 1, -2, 3, 0
  const std::string h = R"({"a":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},)"
                        R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[12,20]},"__metadata__":{"format":"pt"}})";
  bytes_builder b;
  b.u64(h.size()).raw(h);
  for (auto v : f16) b.put(v);
  for (auto v : bf16) b.put(v);
  const w::model m = w::read_safetensors(b.write("mixed.safetensors"));
  ASSERT_EQ(m.tensors.size(), 2u);
  EXPECT_EQ(m.tensors[0].ne, (std::vector<std::uint64_t>{3, 2}));
  EXPECT_EQ(m.to_float(m.tensors[0]), (std::vector<float>{1.5f, -2.0f, 0.0f, 1.0f, 2.0f, 3.0f}));
  EXPECT_EQ(m.to_float(m.tensors[1]), (std::vector<float>{1.0f, -2.0f, 3.0f, 0.0f}));
  ASSERT_NE(m.find_kv("format"), nullptr);
  const auto out = qtune::testing::weights_tmp("mixed_f32.safetensors");
  w::write_safetensors_f32(out, m);
  const w::model back = w::read_safetensors(out);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[0].format.type, w::wtype::f32);
  EXPECT_EQ(back.to_float(back.tensors[0]), m.to_float(m.tensors[0]));
  EXPECT_EQ(back.to_float(back.tensors[1]), m.to_float(m.tensors[1]));
}

TEST(weights_safetensors, rejects_short_file) {
  bytes_builder b;
  b.raw("abc");
  QTUNE_EXPECT_ERROR(w::read_safetensors(b.write("short.safetensors")), "short.safetensors", "too short");
}

TEST(weights_safetensors, rejects_header_over_100_mb) {
  bytes_builder b;
  b.u64(100'000'001).raw("{}");
  QTUNE_EXPECT_ERROR(w::read_safetensors(b.write("big.safetensors")), "big.safetensors", "100 MB");
}

TEST(weights_safetensors, rejects_header_past_end) {
  bytes_builder b;
  b.u64(1000).raw("{}");
  QTUNE_EXPECT_ERROR(w::read_safetensors(b.write("hlen.safetensors")), "hlen.safetensors", "past the end");
}

TEST(weights_safetensors, rejects_invalid_json) {
  QTUNE_EXPECT_ERROR(w::read_safetensors(st("{\"a\": [1,", 0).write("json.safetensors")), "json.safetensors",
                     "not valid JSON");
}

TEST(weights_safetensors, rejects_non_object_header) {
  QTUNE_EXPECT_ERROR(w::read_safetensors(st("[1, 2]", 0).write("arr.safetensors")), "arr.safetensors", "JSON object");
}

TEST(weights_safetensors, rejects_unknown_dtype) {
  QTUNE_EXPECT_ERROR(
      w::read_safetensors(st(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8).write("dt.safetensors")),
      "dt.safetensors", "'a'", "dtype F64");
}

TEST(weights_safetensors, rejects_offsets_not_starting_at_zero) {
  QTUNE_EXPECT_ERROR(
      w::read_safetensors(st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8).write("zero.safetensors")),
      "zero.safetensors", "'a'", "start at 0");
}

TEST(weights_safetensors, rejects_gap_between_tensors) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  QTUNE_EXPECT_ERROR(w::read_safetensors(st(h, 12).write("gap.safetensors")), "gap.safetensors", "'b'", "back to back");
}

TEST(weights_safetensors, rejects_overlapping_tensors) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  QTUNE_EXPECT_ERROR(w::read_safetensors(st(h, 8).write("overlap.safetensors")), "overlap.safetensors", "'b'",
                     "back to back");
}

TEST(weights_safetensors, rejects_size_not_matching_dtype_and_shape) {
  QTUNE_EXPECT_ERROR(
      w::read_safetensors(st(R"({"a":{"dtype":"F16","shape":[3,2],"data_offsets":[0,8]}})", 8).write("size.safetensors")),
      "size.safetensors", "'a'", "has 8 bytes", "needs 12");
}

TEST(weights_safetensors, rejects_trailing_bytes) {
  QTUNE_EXPECT_ERROR(
      w::read_safetensors(st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 12).write("trail.safetensors")),
      "trail.safetensors", "4 trailing bytes");
}

TEST(weights_safetensors, rejects_data_past_end) {
  QTUNE_EXPECT_ERROR(
      w::read_safetensors(st(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8).write("end.safetensors")),
      "end.safetensors", "past the end");
}

TEST(weights_safetensors, rejects_duplicate_names) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  QTUNE_EXPECT_ERROR(w::read_safetensors(st(h, 8).write("dup.safetensors")), "dup.safetensors",
                     "duplicate tensor name 'a'");
}

TEST(weights_safetensors, rejects_bad_npy) {
  bytes_builder b;
  b.raw("\x93NUMPY").u8(1).u8(0);
  const std::string h = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
  b.put<std::uint16_t>(static_cast<std::uint16_t>(h.size())).raw(h).zeros(16);
  QTUNE_EXPECT_ERROR(w::read_npy(b.write("bad.npy")), "bad.npy", "'<i8'");
  for (const std::string shape : {"(x,)", "(4294967296, 4294967296, 4294967296)"}) {
    bytes_builder c;
    c.raw("\x93NUMPY").u8(1).u8(0);
    const std::string hs = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    c.put<std::uint16_t>(static_cast<std::uint16_t>(hs.size())).raw(hs).zeros(16);
    QTUNE_EXPECT_ERROR(w::read_npy(c.write("shape.npy")), "shape.npy", "shape");
  }
}

// Issue 14: shape [2^62] F32 "needs" 2^64 bytes, which wrapped to 0 and matched 0 data bytes.
TEST(weights_safetensors, rejects_shape_whose_byte_size_wraps) {
  for (const std::string dtype : {"F32", "F16", "BF16"}) {
    const std::string h = R"({"a":{"dtype":")" + dtype + R"(","shape":[4611686018427387904],"data_offsets":[0,0]}})";
    QTUNE_EXPECT_ERROR(w::read_safetensors(st(h, 0).write("wrap.safetensors")), "wrap.safetensors", "'a'");
  }
  const std::string h2 = R"({"a":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,0]}})";
  QTUNE_EXPECT_ERROR(w::read_safetensors(st(h2, 0).write("wrap2.safetensors")), "wrap2.safetensors", "'a'");
}
