#pragma once
// A read-only JSON document for the audit-event hot path: one pass builds a flat array of nodes
// whose strings view the document's own text (escaped strings are decoded into a side buffer), so
// decoding an event costs one allocation per array rather than one per value, and the ka.* fields
// are lookups over a few nodes.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::rules {

class JsonDoc {
 public:
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Node {
    Kind kind = Kind::kNull;
    /// Index one past this node's subtree: the next sibling of a member or item.
    uint32_t end = 0;
    std::string_view key;   // member key (decoded) when the parent is an object
    std::string_view text;  // string (decoded), number as written, "true"/"false"/"null"
  };

  /// Parses `text` (taken over). Errors name `input_name` and the byte offset:
  /// "audit.log:3: offset 17: expected ':'". Deeper than `max_depth` is an error.
  static Result<JsonDoc> Parse(std::string text, std::string_view input_name, uint32_t max_depth);

  JsonDoc() = default;

  const Node& node(uint32_t index) const { return nodes_[index]; }
  size_t size() const { return nodes_.size(); }
  /// The member `key` of object `object`; kNone when `object` is kNone, not an object or lacks it.
  uint32_t Get(uint32_t object, std::string_view key) const;
  /// Follows member keys from `from`.
  uint32_t Path(uint32_t from, std::initializer_list<std::string_view> keys) const;
  /// RFC 6901 JSON pointer ("/spec/containers/0/image", "~1" and "~0" escapes); kNone if absent.
  uint32_t Pointer(uint32_t from, std::string_view pointer) const;
  /// Children (items of an array or members of an object) in order.
  template <typename F>
  void ForEachChild(uint32_t parent, F&& visit) const {
    if (parent == kNone) return;
    const Node& p = nodes_[parent];
    if (p.kind != Kind::kArray && p.kind != Kind::kObject) return;
    for (uint32_t i = parent + 1; i < p.end; i = nodes_[i].end) visit(i);
  }
  /// The string text of `index` ("" when kNone or not a string).
  std::string_view String(uint32_t index) const {
    return index != kNone && nodes_[index].kind == Kind::kString ? nodes_[index].text
                                                                 : std::string_view();
  }
  /// Whether `index` is the boolean true.
  bool IsTrue(uint32_t index) const {
    return index != kNone && nodes_[index].kind == Kind::kBool && nodes_[index].text == "true";
  }
  /// The compact JSON text of a subtree (strings re-escaped).
  std::string Serialize(uint32_t index) const;

 private:
  // Behind pointers so that moving the document keeps the nodes' views valid (a short string's
  // characters live inside the string object). decoded_ is reserved to the text's size before
  // parsing, which no decoding exceeds, so it never reallocates under the views.
  std::unique_ptr<std::string> text_;
  std::unique_ptr<std::string> decoded_;
  std::vector<Node> nodes_;
};

}  // namespace moat::rules
