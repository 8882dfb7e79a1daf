// libFuzzer target for the version comparators and npm ranges: input = scheme/options byte, then
// two strings separated by the first NUL or newline. Nothing may crash, and where the upstream
// order is a proper total order, Moat's must be too (reflexive, antisymmetric).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>

#include "version/version.h"

namespace {

using moat::version::Scheme;

constexpr Scheme kSchemes[] = {Scheme::kDeb,    Scheme::kRpm,     Scheme::kApk,   Scheme::kPep440,
                               Scheme::kSemver, Scheme::kGo,      Scheme::kMaven, Scheme::kGem,
                               Scheme::kNuget,  Scheme::kComposer};

// Maven's ComparableVersion and apk-tools have upstream quirks (e.g. apk's string sort of
// invalid tails), so only the schemes with a documented total order are checked for symmetry.
bool CheckOrder(Scheme s) { return s != Scheme::kMaven && s != Scheme::kApk; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t control = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t split = rest.find_first_of(std::string_view("\0\n", 2));
  std::string_view a = rest.substr(0, split);
  std::string_view b =
      split == std::string_view::npos ? std::string_view() : rest.substr(split + 1);
  const Scheme scheme = kSchemes[control % std::size(kSchemes)];

  auto ab = moat::version::Compare(scheme, a, b);
  auto ba = moat::version::Compare(scheme, b, a);
  (void)moat::version::Validate(scheme, a);
  (void)moat::version::Validate(scheme, b);
  if (CheckOrder(scheme)) {
    if (ab.ok() != ba.ok()) std::abort();
    if (ab.ok() && *ab != -*ba) std::abort();
    auto aa = moat::version::Compare(scheme, a, a);
    if (aa.ok() && *aa != 0) std::abort();
  }

  moat::version::NpmRangeOptions options;
  options.loose = control & 0x10;
  options.include_prerelease = control & 0x20;
  (void)moat::version::SatisfiesNpmRange(a, b, options);
  (void)moat::version::CompareNpm(a, b, options.loose);

  (void)moat::version::RpmVercmp(a, b);
  (void)moat::version::ApkCompareRaw(a, b, control & 0x40);
  (void)moat::version::GoSemverCompare(a, b);
  (void)moat::version::GoCanonical(a);
  (void)moat::version::IsGoPseudoVersion(a);
  if (auto normal = moat::version::NormalizePep440(a); normal.ok()) {
    // The normal form is a fixed point and equal to the original.
    auto again = moat::version::NormalizePep440(*normal);
    if (!again.ok() || *again != *normal) std::abort();
    auto same = moat::version::Compare(Scheme::kPep440, a, *normal);
    if (!same.ok() || *same != 0) std::abort();
  }
  return 0;
}
