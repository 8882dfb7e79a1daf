#include "core/package.h"

#include <gtest/gtest.h>

namespace moat {
namespace {

// PEP 503's own examples: all of these name one project.
TEST(NormalizePythonName, Pep503Examples) {
  for (const char* name : {"friendly-bar", "Friendly-Bar", "friendly.bar", "friendly_bar",
                           "FRIENDLY-BAR", "Friendly_Bar", "friendly--bar", "FrIeNdLy-._.-bAr"}) {
    EXPECT_EQ(NormalizePythonName(name), "friendly-bar") << name;
  }
  EXPECT_EQ(NormalizePythonName("PyYAML"), "pyyaml");
  EXPECT_EQ(NormalizePythonName("zope.interface"), "zope-interface");
  EXPECT_EQ(NormalizePythonName(""), "");
}

}  // namespace
}  // namespace moat
