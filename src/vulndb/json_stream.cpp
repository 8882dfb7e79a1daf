// SAX events -> the visitor's records: containers the visitor descends into are tracked by a
// path only; each value it does not descend into is built as a small document tree and handed
// over, then dropped.

#include "vulndb/json_stream.h"

#include <optional>
#include <utility>

namespace moat::vulndb::json_stream {
namespace {

using nlohmann::json;

class Sax {
 public:
  Sax(const std::string& name, Visitor& visitor) : name_(name), visitor_(visitor) {}

  bool null() { return Scalar(json(nullptr)); }
  bool boolean(bool value) { return Scalar(json(value)); }
  bool number_integer(json::number_integer_t value) { return Scalar(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return Scalar(json(value)); }
  bool number_float(json::number_float_t value, const std::string&) { return Scalar(json(value)); }
  bool string(std::string& value) { return Scalar(json(std::move(value))); }
  bool binary(json::binary_t& value) { return Scalar(json(std::move(value))); }
  bool start_object(std::size_t) { return Start(false); }
  bool start_array(std::size_t) { return Start(true); }
  bool end_object() { return End(); }
  bool end_array() { return End(); }
  bool key(std::string& key) {
    if (!building_.empty()) {
      key_ = std::move(key);
    } else {
      path_.back() = std::move(key);
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    error_ = Error{name_ + ": not valid JSON: " + e.what()};
    return false;
  }

  std::optional<Error>& error() { return error_; }

 private:
  struct Level {
    bool is_array;
    size_t next_index = 0;
  };

  // The path of the value about to start: an array member's index is known only now.
  void NextMember() {
    if (!levels_.empty() && levels_.back().is_array) {
      path_.back() = std::to_string(levels_.back().next_index++);
    }
  }

  // Adds a value to the tree being built and returns where it landed.
  json* Insert(json&& value) {
    if (building_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& parent = *building_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    json& slot = parent[key_];  // a repeated key: the last one wins, as in json::parse
    slot = std::move(value);
    return &slot;
  }

  bool Start(bool is_array) {
    if (building_.empty()) {
      NextMember();
      auto descend = visitor_.Descend(path_, is_array);
      if (!descend.ok()) return Stop(descend.error());
      if (descend.value()) {
        levels_.push_back(Level{is_array});
        path_.emplace_back();
        return true;
      }
    }
    building_.push_back(Insert(is_array ? json::array() : json::object()));
    return true;
  }

  bool End() {
    if (building_.empty()) {
      levels_.pop_back();
      path_.pop_back();
      return true;
    }
    building_.pop_back();
    return building_.empty() ? Deliver() : true;
  }

  bool Scalar(json&& value) {
    if (!building_.empty()) {
      Insert(std::move(value));
      return true;
    }
    NextMember();
    root_ = std::move(value);
    return Deliver();
  }

  bool Deliver() {
    auto delivered = visitor_.Value(path_, std::move(root_));
    root_ = json();
    if (!delivered.ok()) return Stop(delivered.error());
    return true;
  }

  bool Stop(const Error& error) {
    error_ = error;
    return false;
  }

  const std::string& name_;
  Visitor& visitor_;
  std::vector<Level> levels_;    // the containers descended into
  Path path_;                    // one entry per level: the current member's key or index
  json root_;                    // the value being built or handed over
  std::vector<json*> building_;  // its open containers
  std::string key_;              // the pending key inside it
  std::optional<Error> error_;
};

template <typename Input>
Result<void> ReadWith(Input&& input, const std::string& name, Visitor& visitor) {
  Sax sax(name, visitor);
  bool ok;
  try {
    ok = json::sax_parse(std::forward<Input>(input), &sax);
  } catch (const std::exception& e) {  // e.g. a stream that fails; the SAX calls do not throw
    return Fail(name, ": ", e.what());
  }
  if (sax.error()) return *sax.error();
  if (!ok) return Fail(name, ": not valid JSON");
  return Ok();
}

}  // namespace

Result<void> Read(std::string_view text, const std::string& name, Visitor& visitor) {
  return ReadWith(text, name, visitor);
}

Result<void> Read(std::istream& in, const std::string& name, Visitor& visitor) {
  return ReadWith(in, name, visitor);
}

}  // namespace moat::vulndb::json_stream
