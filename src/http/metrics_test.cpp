#include "http/metrics.h"

#include <gtest/gtest.h>

namespace moat::http {
namespace {

TEST(HistogramTest, BucketsAreCumulativeAndInclusiveOfTheirBound) {
  Histogram histogram({0.01, 0.001, 0.1});  // given out of order on purpose
  histogram.Observe(0.001);                 // exactly on a bound: counts in that bucket ("le")
  histogram.Observe(0.005);
  histogram.Observe(0.05);
  histogram.Observe(2);  // above every bound: only +Inf
  std::string out;
  histogram.Render("moat_test_seconds", "Test latency.", out);
  EXPECT_EQ(out,
            "# HELP moat_test_seconds Test latency.\n"
            "# TYPE moat_test_seconds histogram\n"
            "moat_test_seconds_bucket{le=\"0.001\"} 1\n"
            "moat_test_seconds_bucket{le=\"0.01\"} 2\n"
            "moat_test_seconds_bucket{le=\"0.1\"} 3\n"
            "moat_test_seconds_bucket{le=\"+Inf\"} 4\n"
            "moat_test_seconds_sum 2.056\n"
            "moat_test_seconds_count 4\n");
}

TEST(HistogramTest, EmptyHistogramRendersZeros) {
  Histogram histogram({1});
  std::string out;
  histogram.Render("m", "h", out);
  EXPECT_NE(out.find("m_bucket{le=\"+Inf\"} 0\n"), std::string::npos);
  EXPECT_NE(out.find("m_count 0\n"), std::string::npos);
}

TEST(PrometheusLabelValueTest, EscapesQuoteBackslashAndNewline) {
  EXPECT_EQ(PrometheusLabelValue("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
  EXPECT_EQ(PrometheusLabelValue(""), "\"\"");
}

}  // namespace
}  // namespace moat::http
