// `tune weights ...` end to end on stories260K: exit codes, outputs readable by the readers.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "qtune/weights.hpp"
#include "run_command.hpp"
#include "test_data.hpp"
#include "weights/weights_test_util.hpp"

namespace w = qtune::weights;

using qtune::testing::run_tune;

TEST(weights_cli, quantize_plan_dequantize_and_importance) {
  QTUNE_REQUIRE_DATA_FILE(model, "gguf/stories260K.gguf");
  // Importance weights for rows of 64: a float32 .npy written by hand.
  qtune::testing::bytes_builder npy;
  const std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (64,), }          \n";
  npy.raw("\x93NUMPY").u8(1).u8(0).put<std::uint16_t>(static_cast<std::uint16_t>(h.size())).raw(h);
  for (int j = 0; j < 64; ++j) npy.put<float>(j % 4 == 0 ? 10.0f : 1.0f);
  const auto imp = npy.write("imp64.npy");

  const auto q = qtune::testing::weights_tmp("cli_q4_0.gguf");
  auto [rc, out] = run_tune("weights quantize --type q4_0 --importance " + imp.string() + " " + model.string() + " -o " +
                        q.string());
  ASSERT_EQ(rc, 0) << out;
  const w::model mq = w::read_gguf(q);
  EXPECT_EQ(mq.find("blk.0.attn_q.weight").format.type, w::wtype::q4_0);

  const auto planned = qtune::testing::weights_tmp("cli_plan.gguf");
  std::tie(rc, out) = run_tune("weights plan " + model.string() + " --budget-bpw 7.5 --tensor-type 'token_embd=q8_0' -o " +
                           planned.string() + " --fit-gb 8");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("fit in 8 GiB: yes"), std::string::npos) << out;
  const w::model mp = w::read_gguf(planned);
  EXPECT_EQ(mp.find("token_embd.weight").format.type, w::wtype::q8_0);
  EXPECT_LE(8.0 * static_cast<double>(mp.total_bytes()), 7.5 * static_cast<double>(mp.total_values()) + 32 * 8 * 48);

  const auto st = qtune::testing::weights_tmp("cli.safetensors");
  std::tie(rc, out) = run_tune("weights dequantize " + planned.string() + " -o " + st.string());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(w::read_safetensors(st).tensors.size(), 48u);

  std::tie(rc, out) = run_tune("weights stats " + model.string() + " --types q4_k --json --totals-only");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"type\": \"q4_k\""), std::string::npos);

  std::tie(rc, out) = run_tune("weights quantize --type int4_g32 " + model.string() + " -o " + q.string());
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("no GGUF type"), std::string::npos) << out;
}
