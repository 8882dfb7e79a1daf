// Maven ordering as org.apache.maven.artifact.versioning.ComparableVersion (Maven 4 / 3.9.x
// lineage, including MNG-6964, MNG-7644 and MNG-7714): items split on '.', '-' and digit/letter
// transitions, '-' opens a sub-list, well-known qualifiers alpha < beta < milestone < rc = cr <
// snapshot < "" = ga = final = release < sp < other strings, "a1"/"b1"/"m1" shorthands.

#include <memory>
#include <string>
#include <vector>

#include "version/internal.h"
#include "version/version.h"

namespace moat::version::internal {
namespace {

constexpr size_t kMaxVersionLength = 256;  // ComparableVersion.MAX_VERSION_LENGTH

struct Item {
  enum Kind { kNumber, kString, kCombination, kList };
  Kind kind = kList;
  std::string_view text;    // kNumber: digits without leading zeros ("0" for zero); kString
  std::string_view digits;  // kCombination: the number part ("0" for zero)
  std::vector<Item> list;   // kList

  bool IsNull() const {
    switch (kind) {
      case kNumber:
        return text == "0";
      case kString:
        return text.empty();
      case kCombination:
        return false;
      case kList:
        return list.empty();
    }
    return false;
  }
};

std::string_view StripLeadingZeros(std::string_view s) {
  while (!s.empty() && s.front() == '0') s.remove_prefix(1);
  return s.empty() ? std::string_view("0") : s;
}

std::string_view StringValue(std::string_view value, bool followed_by_digit) {
  if (followed_by_digit && value.size() == 1) {
    if (value[0] == 'a') return "alpha";
    if (value[0] == 'b') return "beta";
    if (value[0] == 'm') return "milestone";
  }
  if (value == "cr") return "rc";
  return value;
}

// comparableQualifier(): known qualifiers become their index ("0".."6"), others "7-<q>"; the
// result is compared as a string, so compare (rank, rest) instead of building it.
struct Qualifier {
  char rank;
  std::string_view rest;
};

Qualifier Comparable(std::string_view q) {
  if (q == "ga" || q == "final" || q == "release" || q.empty()) return {'5', {}};
  static constexpr std::string_view kKnown[] = {"alpha", "beta", "milestone", "rc", "snapshot"};
  for (int i = 0; i < 5; ++i) {
    if (q == kKnown[i]) return {static_cast<char>('0' + i), {}};
  }
  if (q == "sp") return {'6', {}};
  return {'7', q};
}

int CompareQualifiers(std::string_view a, std::string_view b) {
  Qualifier qa = Comparable(a), qb = Comparable(b);
  if (qa.rank != qb.rank) return qa.rank < qb.rank ? -1 : 1;
  // "7-x" vs "7-y": the common "7-" prefix leaves plain string order.
  return Sign(qa.rest.compare(qb.rest));
}

int CompareTo(const Item& a, const Item* b);

int CompareNumbers(std::string_view a, std::string_view b) { return CompareDigits(a, b); }

int NumberCompareTo(const Item& a, const Item* b) {
  if (!b) return a.text == "0" ? 0 : 1;
  if (b->kind == Item::kNumber) return CompareNumbers(a.text, b->text);
  return 1;
}

int StringCompareTo(const Item& a, const Item* b) {
  if (!b) return CompareQualifiers(a.text, "");
  switch (b->kind) {
    case Item::kNumber:
      return -1;
    case Item::kString:
      return CompareQualifiers(a.text, b->text);
    case Item::kCombination: {
      int result = CompareQualifiers(a.text, b->text);
      if (result == 0) {
        if (CompareQualifiers(a.text, "") == 0) return b->digits == "0" ? 0 : -1;
        return -1;
      }
      return result;
    }
    case Item::kList:
      return -CompareTo(*b, &a);
  }
  return 0;
}

int CombinationCompareTo(const Item& a, const Item* b) {
  if (!b) {
    int result = CompareQualifiers(a.text, "");
    if (result == 0) return a.digits == "0" ? 0 : 1;
    return result;
  }
  switch (b->kind) {
    case Item::kNumber:
      return -1;
    case Item::kString: {
      int result = CompareQualifiers(a.text, b->text);
      if (result == 0) {
        if (CompareQualifiers(a.text, "") == 0) return a.digits == "0" ? 0 : 1;
        return 1;  // X1 > X
      }
      return result;
    }
    case Item::kList:
      return -CompareTo(*b, &a);
    case Item::kCombination: {
      int result = CompareQualifiers(a.text, b->text);
      if (result == 0) return CompareNumbers(a.digits, b->digits);
      return result;
    }
  }
  return 0;
}

int ListCompareTo(const Item& a, const Item* b) {
  if (!b) {
    for (const Item& i : a.list) {
      int result = CompareTo(i, nullptr);
      if (result != 0) return result;
    }
    return 0;
  }
  switch (b->kind) {
    case Item::kNumber:
      return -1;
    case Item::kString:
    case Item::kCombination: {
      int result = a.list.empty() ? -CompareTo(*b, nullptr) : CompareTo(a.list[0], b);
      for (size_t i = 1; result == 0 && i < a.list.size(); ++i) {
        result = CompareTo(a.list[i], nullptr);
      }
      return result;
    }
    case Item::kList: {
      size_t n = a.list.size() > b->list.size() ? a.list.size() : b->list.size();
      for (size_t i = 0; i < n; ++i) {
        const Item* l = i < a.list.size() ? &a.list[i] : nullptr;
        const Item* r = i < b->list.size() ? &b->list[i] : nullptr;
        int result = l == nullptr ? (r == nullptr ? 0 : -CompareTo(*r, l)) : CompareTo(*l, r);
        if (result != 0) return result;
      }
      return 0;
    }
  }
  return 0;
}

int CompareTo(const Item& a, const Item* b) {
  switch (a.kind) {
    case Item::kNumber:
      return NumberCompareTo(a, b);
    case Item::kString:
      return StringCompareTo(a, b);
    case Item::kCombination:
      return CombinationCompareTo(a, b);
    case Item::kList:
      return ListCompareTo(a, b);
  }
  return 0;
}

void Normalize(Item& list) {
  auto& items = list.list;
  for (size_t k = items.size(); k-- > 0;) {
    if (k >= items.size()) continue;
    if (!items[k].IsNull()) continue;
    if (k == items.size() - 1 || items[k + 1].kind == Item::kString) {
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(k));
    } else if (items[k + 1].kind == Item::kList && !items[k + 1].list.empty()) {
      Item::Kind first = items[k + 1].list[0].kind;
      if (first == Item::kCombination || first == Item::kString) {
        items.erase(items.begin() + static_cast<std::ptrdiff_t>(k));
      }
    }
  }
  if (items.size() == 1 && items[0].kind == Item::kList) {
    std::vector<Item> inner = std::move(items[0].list);
    items = std::move(inner);
  }
}

// The version text, lower-cased once; items point into it.
struct MavenVersion {
  std::string lower;
  Item root;
};

Item MakeItem(bool is_combination, bool is_digit, std::string_view buf, std::string& scratch) {
  Item item;
  if (is_combination) {
    // CombinationItem(buf.replace("-", "")): letters before the first digit, then the number.
    size_t index = 0;
    bool has_dash = buf.find('-') != std::string_view::npos;
    if (has_dash) {
      // The only '-' a combination can hold is the "X-1" separator, directly before the digits.
      size_t dash = buf.find('-');
      item.text = StringValue(buf.substr(0, dash), true);
      item.digits = StripLeadingZeros(buf.substr(dash + 1));
    } else {
      while (index < buf.size() && !IsDigit(buf[index])) ++index;
      if (index == buf.size()) index = 0;
      item.text = StringValue(buf.substr(0, index), true);
      item.digits = StripLeadingZeros(buf.substr(index));
    }
    item.kind = Item::kCombination;
    (void)scratch;
  } else if (is_digit) {
    item.kind = Item::kNumber;
    item.text = StripLeadingZeros(buf);
  } else {
    item.kind = Item::kString;
    item.text = StringValue(buf, false);
  }
  return item;
}

Result<std::unique_ptr<MavenVersion>> ParseMaven(std::string_view in) {
  if (in.size() > kMaxVersionLength) return VersionError("maven", in, "longer than 256 characters");
  auto v = std::make_unique<MavenVersion>();
  v->lower.reserve(in.size());
  for (char c : in) v->lower += ToLower(c);
  std::string_view s = v->lower;
  std::string scratch;

  // The Java code keeps a stack of open lists; each new list is the last element of the current
  // one, so a path of indices suffices. Lists are normalized innermost first at the end.
  std::vector<Item*> stack;
  stack.push_back(&v->root);
  auto current = [&]() -> Item& { return *stack.back(); };
  auto open_list = [&] {
    current().list.emplace_back();
    stack.push_back(&current().list.back());
  };
  bool is_digit = false, is_combination = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (i == start) {
        current().list.push_back(Item{Item::kNumber, "0", {}, {}});
      } else {
        current().list.push_back(
            MakeItem(is_combination, is_digit, s.substr(start, i - start), scratch));
      }
      is_combination = false;
      start = i + 1;
    } else if (c == '-') {
      if (i == start) {
        current().list.push_back(Item{Item::kNumber, "0", {}, {}});
      } else {
        if (!is_digit && i != s.size() - 1 && IsDigit(s[i + 1])) {
          is_combination = true;  // "X-1" is read as "X1"
          continue;
        }
        current().list.push_back(
            MakeItem(is_combination, is_digit, s.substr(start, i - start), scratch));
      }
      start = i + 1;
      if (!current().list.empty()) open_list();
      is_combination = false;
    } else if (IsDigit(c)) {
      if (!is_digit && i > start) {
        is_combination = true;
        if (!current().list.empty()) open_list();
      }
      is_digit = true;
    } else {
      if (is_digit && i > start) {
        current().list.push_back(
            MakeItem(is_combination, true, s.substr(start, i - start), scratch));
        start = i;
        open_list();
        is_combination = false;
      }
      is_digit = false;
    }
  }
  if (s.size() > start) {
    if (!is_digit && !current().list.empty()) open_list();  // 1.0.0.X1 < 1.0.0-X2
    current().list.push_back(MakeItem(is_combination, is_digit, s.substr(start), scratch));
  }
  while (!stack.empty()) {
    Normalize(*stack.back());
    stack.pop_back();
  }
  return v;
}

}  // namespace

Result<int> CompareMaven(std::string_view a, std::string_view b) {
  MOAT_ASSIGN_OR_RETURN(auto va, ParseMaven(a));
  MOAT_ASSIGN_OR_RETURN(auto vb, ParseMaven(b));
  return Sign(CompareTo(va->root, &vb->root));
}

Result<void> ValidateMaven(std::string_view v) {
  MOAT_TRY(ParseMaven(v));
  return Ok();
}

}  // namespace moat::version::internal
