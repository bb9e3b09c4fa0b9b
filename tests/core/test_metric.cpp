#include <gtest/gtest.h>

#include "qtune/error.hpp"
#include "qtune/metric.hpp"

using namespace qtune;

TEST(metric, names_round_trip) {
  for (metric m : {metric::l2, metric::ip, metric::cosine}) EXPECT_EQ(parse_metric(to_string(m)), m);
  EXPECT_EQ(parse_metric("euclidean"), metric::l2);
  EXPECT_EQ(parse_metric("angular"), metric::cosine);
}

TEST(metric, unknown_name_is_an_error_naming_it) {
  try {
    parse_metric("hamming");
    FAIL() << "expected qtune::error";
  } catch (const qtune::error& e) {
    EXPECT_NE(std::string(e.what()).find("hamming"), std::string::npos);
  }
}
