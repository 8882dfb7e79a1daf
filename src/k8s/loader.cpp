#include "k8s/loader.h"

#include <yaml.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <iostream>
#include <istream>
#include <iterator>
#include <list>
#include <streambuf>
#include <unordered_map>

#include "core/bytes.h"

namespace moat::k8s {
namespace {

namespace fs = std::filesystem;

/// A place in a chunk, 0-based (as libyaml reports it).
struct Mark {
  int line = 0;
  int column = 0;
};

/// Thrown by the builder when a limit is hit.
struct LimitExceeded {
  Mark mark;
  std::string message;
};

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> options) {
  for (std::string_view o : options) {
    if (s == o) return true;
  }
  return false;
}

bool IsDecimalInt(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsHexInt(std::string_view s) {
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
  return std::all_of(s.begin() + 2, s.end(), [](char c) { return std::isxdigit(c) != 0; });
}

bool IsFloat(std::string_view s) {
  if (IsOneOf(s,
              {".inf", ".Inf", ".INF", "+.inf", "-.inf", "+.Inf", "-.Inf", ".nan", ".NaN", ".NAN"}))
    return true;
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

/// Resolves a plain scalar as Kubernetes' YAML decoder (go-yaml v2, YAML 1.1 booleans) does.
Value ResolvePlain(const std::string& text) {
  if (text.empty() || IsOneOf(text, {"~", "null", "Null", "NULL"}))
    return Value::Scalar(Value::Type::kNull, text);
  switch (text[0]) {
    case 't':
    case 'T':
    case 'y':
    case 'Y':
    case 'o':
    case 'O':
      if (IsOneOf(text, {"true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON"}))
        return Value::Scalar(Value::Type::kBool, text, true);
      if (IsOneOf(text, {"off", "Off", "OFF"})) return Value::Scalar(Value::Type::kBool, text);
      break;
    case 'f':
    case 'F':
    case 'n':
    case 'N':
      if (IsOneOf(text, {"false", "False", "FALSE", "n", "N", "no", "No", "NO"}))
        return Value::Scalar(Value::Type::kBool, text, false);
      break;
    default:
      break;
  }
  if (IsDecimalInt(text) || IsHexInt(text)) return Value::Scalar(Value::Type::kInt, text);
  if (IsFloat(text)) return Value::Scalar(Value::Type::kFloat, text);
  return Value::Scalar(Value::Type::kString, text);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// Builds Values from libyaml's parse events (no intermediate node graph: fast, and every event
/// carries its mark). libyaml parses with an explicit state stack, so deep nesting cannot
/// overflow the C++ stack; the builder still bounds depth and size.
class Builder {
 public:
  Builder(uint32_t line_offset, const LoadLimits& limits)
      : line_offset_(line_offset), limits_(limits) {}

  void Reset() {
    root_ = Value();
    stack_.clear();
    for (std::vector<Value>& items : pending_) items.clear();
    anchors_.clear();
    scratch_.clear();
    nodes_ = 0;
    alias_nodes_ = 0;
  }
  Value& root() { return root_; }

  void OnNull(const Mark& mark, const std::string& anchor) {
    Place(Value::Scalar(Value::Type::kNull, ""), mark, anchor);
  }
  void OnAlias(const Mark& mark, const std::string& anchor) {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw LimitExceeded{mark, "unknown alias"};
    const size_t n = it->second.CountNodes();
    alias_nodes_ += n;
    if (alias_nodes_ > limits_.max_alias_nodes)
      throw LimitExceeded{mark, "aliases expand to more than " +
                                    std::to_string(limits_.max_alias_nodes) + " values"};
    Count(mark, n);
    Place(Value(it->second), mark, std::string(), /*counted=*/true);
  }
  void OnScalar(const Mark& mark, const std::string& tag, const std::string& anchor,
                std::string value, bool plain) {
    Value v;
    if (!plain || EndsWith(tag, ":str") || EndsWith(tag, ":binary")) {
      v = Value::Scalar(Value::Type::kString, std::move(value));
    } else {
      v = ResolvePlain(value);
    }
    Place(std::move(v), mark, anchor);
  }
  void OnSequenceStart(const Mark& mark, const std::string& anchor) {
    Open(Value::Type::kSequence, mark, anchor);
  }
  void OnSequenceEnd() { Close(); }
  void OnMapStart(const Mark& mark, const std::string& anchor) {
    Open(Value::Type::kMap, mark, anchor);
  }
  void OnMapEnd() { Close(); }

 private:
  struct Frame {
    Value* node = nullptr;
    bool want_key = true;
    bool is_key = false;  // a complex (non-scalar) key being built in scratch
    std::string key;
    uint32_t key_line = 0, key_column = 0;
    std::string anchor;
  };

  uint32_t Line(const Mark& mark) const {
    return line_offset_ + static_cast<uint32_t>(std::max(mark.line, 0)) + 1;
  }
  static uint32_t Column(const Mark& mark) {
    return static_cast<uint32_t>(std::max(mark.column, 0)) + 1;
  }

  void Count(const Mark& mark, size_t n) {
    nodes_ += n;
    if (nodes_ > limits_.max_nodes_per_document)
      throw LimitExceeded{mark, "document has more than " +
                                    std::to_string(limits_.max_nodes_per_document) +
                                    " values (after expanding aliases)"};
  }

  /// Puts a finished value where the parser is; returns it (nullptr when it became a key).
  Value* Place(Value v, const Mark& mark, const std::string& anchor, bool counted = false) {
    if (!counted) Count(mark, 1);
    v.line = Line(mark);
    v.column = Column(mark);
    if (!anchor.empty() && v.IsScalar()) anchors_[anchor] = v;
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& top = stack_.back();
    if (top.node->IsMap()) {
      if (top.want_key) {
        top.key = v.IsScalar() ? std::move(v.text) : std::string("<complex key>");
        top.key_line = v.line;
        top.key_column = v.column;
        top.want_key = false;
        return nullptr;
      }
      v.key = std::move(top.key);
      v.line = top.key_line;
      v.column = top.key_column;
      top.want_key = true;
    }
    // The open container's children collect in a reused vector and move into one of the exact
    // size when it closes: a large input holds millions of these, and growing them in place
    // would leave a quarter of their memory unused. Values pointed to by open frames stay put:
    // only the innermost container's vector grows, and moving the outer vector keeps buffers.
    std::vector<Value>& items = pending_[stack_.size() - 1];
    items.push_back(std::move(v));
    return &items.back();
  }

  void Open(Value::Type type, const Mark& mark, const std::string& anchor) {
    if (stack_.size() >= limits_.max_depth)
      throw LimitExceeded{mark, "nesting deeper than " + std::to_string(limits_.max_depth)};
    Value v;
    v.type = type;
    Frame frame;
    frame.anchor = anchor;
    if (!stack_.empty() && stack_.back().node->IsMap() && stack_.back().want_key) {
      // A map or list used as a key: built aside, kept only as "<complex key>".
      Count(mark, 1);
      scratch_.push_back(std::move(v));
      frame.node = &scratch_.back();
      frame.is_key = true;
      frame.node->line = Line(mark);
      frame.node->column = Column(mark);
    } else {
      frame.node = Place(std::move(v), mark, std::string());
    }
    stack_.push_back(std::move(frame));
    if (pending_.size() < stack_.size()) pending_.resize(stack_.size());
  }

  void Close() {
    if (stack_.empty()) return;
    std::vector<Value>& items = pending_[stack_.size() - 1];
    std::vector<Value> children(std::make_move_iterator(items.begin()),
                                std::make_move_iterator(items.end()));
    items.clear();
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    frame.node->children = std::move(children);
    if (frame.node->IsMap()) ApplyMergeKeys(*frame.node);
    if (!frame.anchor.empty()) anchors_[frame.anchor] = *frame.node;
    if (frame.is_key && !stack_.empty()) {
      Frame& parent = stack_.back();
      parent.key = "<complex key>";
      parent.key_line = frame.node->line;
      parent.key_column = frame.node->column;
      parent.want_key = false;
    }
  }

  /// YAML 1.1 merge keys ("<<: *defaults"), which Kubernetes' decoder honours.
  static void ApplyMergeKeys(Value& map) {
    bool has_merge = false;
    for (const Value& e : map.children) has_merge |= e.key == "<<";
    if (!has_merge) return;
    std::vector<Value> own, merged;
    for (Value& e : map.children) {
      if (e.key != "<<") {
        own.push_back(std::move(e));
        continue;
      }
      std::vector<const Value*> sources;
      if (e.IsMap()) sources.push_back(&e);
      for (const Value& item : e.Items()) {
        if (item.IsMap()) sources.push_back(&item);
      }
      for (const Value* source : sources) {
        for (const Value& entry : source->children) {
          bool present = false;
          for (const Value& m : merged) present |= m.key == entry.key;
          if (!present) merged.push_back(entry);
        }
      }
    }
    for (Value& m : merged) {
      bool present = false;
      for (const Value& o : own) present |= o.key == m.key;
      if (!present) own.push_back(std::move(m));
    }
    map.children = std::move(own);
  }

  uint32_t line_offset_;
  const LoadLimits& limits_;
  Value root_;
  std::vector<Frame> stack_;
  std::vector<std::vector<Value>> pending_;  // children of the open containers, by depth
  std::unordered_map<std::string, Value> anchors_;
  std::list<Value> scratch_;
  size_t nodes_ = 0;
  size_t alias_nodes_ = 0;
};

struct Chunk {
  std::string_view text;
  uint32_t first_line = 0;  // 0-based line of the chunk's first line in the file
};

bool IsMarkerLine(std::string_view line, std::string_view marker) {
  if (line.substr(0, 3) != marker) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

/// Splits a YAML stream at document markers ("---" and "..." at column 0; the YAML spec forbids
/// them inside content at column 0), so a malformed document cannot take its neighbours down.
std::vector<Chunk> SplitDocuments(std::string_view text) {
  std::vector<Chunk> chunks;
  size_t start = 0;
  uint32_t start_line = 0;
  size_t pos = 0;
  uint32_t line_no = 0;
  auto flush = [&](size_t end) {
    if (end > start) chunks.push_back({text.substr(start, end - start), start_line});
  };
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    std::string_view line = text.substr(pos, next - pos);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (IsMarkerLine(line, "---")) {
      flush(pos);
      start = pos;
      start_line = line_no;
    } else if (IsMarkerLine(line, "...")) {
      flush(pos);
      start = next;
      start_line = line_no + 1;
    }
    pos = next;
    ++line_no;
  }
  flush(text.size());
  return chunks;
}

std::string ScalarText(const Value* v) {
  return v != nullptr && v->IsScalar() && !v->IsNull() ? v->text : std::string();
}

void AddObject(Value root, const std::string& file, uint32_t document, std::string item_path,
               LoadResult& out) {
  Object object = ObjectFromValue(std::move(root), file);
  object.document = document;
  object.item_path = std::move(item_path);
  out.objects.push_back(std::move(object));
}

/// Adds a parsed document: one object, or the items of a list.
void AddDocument(Value root, const std::string& file, uint32_t document, LoadResult& out) {
  if (root.IsNull()) {
    ++out.empty_documents;
    return;
  }
  ++out.documents;
  if (!root.IsMap()) {
    out.errors.push_back({file, root.line, root.column,
                          std::string("document ") + std::to_string(document + 1) + " is a " +
                              std::string(root.TypeName()) + ", not a Kubernetes object"});
    return;
  }
  const Value* kind = root.Get("kind");
  if (kind == nullptr || !kind->IsString() || kind->text.empty()) {
    out.errors.push_back({file, root.line, root.column,
                          kind == nullptr
                              ? std::string("object has no kind")
                              : "kind is a " + std::string(kind->TypeName()) + ", not a string"});
    return;
  }
  const std::string kind_text = kind->text;
  const Value* items = root.Get("items");
  if (kind_text == "List" || (EndsWith(kind_text, "List") && items != nullptr)) {
    if (items == nullptr || items->IsNull()) return;
    if (!items->IsSequence()) {
      out.errors.push_back(
          {file, items->line, items->column,
           kind_text + " items is a " + std::string(items->TypeName()) + ", not a list"});
      return;
    }
    // Typed lists from the API (PodList) leave kind and apiVersion out of their items.
    const std::string item_kind =
        kind_text == "List" ? std::string() : kind_text.substr(0, kind_text.size() - 4);
    const std::string api_version = ScalarText(root.Get("apiVersion"));
    Value owned_items = std::move(*const_cast<Value*>(items));
    size_t index = 0;
    for (Value& item : owned_items.children) {
      std::string path = "items[" + std::to_string(index++) + "]";
      if (!item.IsMap()) {
        out.errors.push_back({file, item.line, item.column,
                              path + " is a " + std::string(item.TypeName()) + ", not an object"});
        continue;
      }
      if (item.Get("kind") == nullptr && !item_kind.empty()) {
        Value k = Value::Scalar(Value::Type::kString, item_kind);
        k.key = "kind";
        k.line = item.line;
        item.children.push_back(std::move(k));
        if (item.Get("apiVersion") == nullptr) {
          Value a = Value::Scalar(Value::Type::kString, api_version);
          a.key = "apiVersion";
          a.line = item.line;
          item.children.push_back(std::move(a));
        }
      }
      const Value* item_kind_value = item.Get("kind");
      if (item_kind_value == nullptr || !item_kind_value->IsString()) {
        out.errors.push_back({file, item.line, item.column, path + " has no kind"});
        continue;
      }
      AddObject(std::move(item), file, document, std::move(path), out);
    }
    return;
  }
  AddObject(std::move(root), file, document, "", out);
}

std::string Text(const yaml_char_t* s) {
  return s == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(s));
}

/// Parses the documents of one chunk; calls `sink(value, document_index)` for each.
template <typename Sink>
void ParseChunk(const Chunk& chunk, const std::string& file, const LoadLimits& limits,
                uint32_t& document, LoadResult& out, Sink&& sink) {
  Builder builder(chunk.first_line, limits);
  auto error_at = [&](size_t line, size_t column, const std::string& message) {
    out.errors.push_back({file, chunk.first_line + static_cast<uint32_t>(line) + 1,
                          static_cast<uint32_t>(column) + 1,
                          "document " + std::to_string(document + 1) + ": " + message});
    ++document;
  };
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    error_at(0, 0, "out of memory");
    return;
  }
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(chunk.text.data()),
                               chunk.text.size());
  yaml_event_t event;
  bool done = false;
  try {
    while (!done) {
      if (!yaml_parser_parse(&parser, &event)) {
        std::string message = parser.problem != nullptr ? parser.problem : "malformed YAML";
        if (parser.context != nullptr) message = std::string(parser.context) + ": " + message;
        error_at(parser.problem_mark.line, parser.problem_mark.column, message);
        break;
      }
      const Mark mark{static_cast<int>(event.start_mark.line),
                      static_cast<int>(event.start_mark.column)};
      switch (event.type) {
        case YAML_STREAM_END_EVENT:
          done = true;
          break;
        case YAML_DOCUMENT_START_EVENT:
          builder.Reset();
          break;
        case YAML_DOCUMENT_END_EVENT:
          sink(std::move(builder.root()), document);
          ++document;
          builder.Reset();
          break;
        case YAML_ALIAS_EVENT:
          builder.OnAlias(mark, Text(event.data.alias.anchor));
          break;
        case YAML_SCALAR_EVENT: {
          const auto& sc = event.data.scalar;
          builder.OnScalar(
              mark, Text(sc.tag), Text(sc.anchor),
              std::string(reinterpret_cast<const char*>(sc.value), sc.length),
              sc.style == YAML_PLAIN_SCALAR_STYLE || sc.style == YAML_ANY_SCALAR_STYLE);
          break;
        }
        case YAML_SEQUENCE_START_EVENT:
          builder.OnSequenceStart(mark, Text(event.data.sequence_start.anchor));
          break;
        case YAML_SEQUENCE_END_EVENT:
          builder.OnSequenceEnd();
          break;
        case YAML_MAPPING_START_EVENT:
          builder.OnMapStart(mark, Text(event.data.mapping_start.anchor));
          break;
        case YAML_MAPPING_END_EVENT:
          builder.OnMapEnd();
          break;
        default:
          break;
      }
      yaml_event_delete(&event);
    }
  } catch (const LimitExceeded& e) {
    yaml_event_delete(&event);
    error_at(static_cast<size_t>(std::max(e.mark.line, 0)),
             static_cast<size_t>(std::max(e.mark.column, 0)), e.message);
  } catch (const std::exception& e) {
    yaml_event_delete(&event);
    error_at(0, 0, e.what());
  }
  yaml_parser_delete(&parser);
}

}  // namespace

std::string LoadError::ToString() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  out += ": ";
  out += message;
  return out;
}

Object ObjectFromValue(Value root, const std::string& file) {
  Object object;
  object.file = file;
  object.api_version = ScalarText(root.Get("apiVersion"));
  object.kind = ScalarText(root.Get("kind"));
  if (const Value* metadata = root.Field("metadata")) {
    object.name = ScalarText(metadata->Get("name"));
    if (object.name.empty()) object.name = ScalarText(metadata->Get("generateName"));
    object.namespace_name = ScalarText(metadata->Get("namespace"));
  }
  object.root = std::move(root);
  return object;
}

void ParseManifests(std::string_view text, const std::string& file, LoadResult& out,
                    const LoadLimits& limits) {
  ++out.files;
  if (text.size() > limits.max_file_bytes) {
    out.errors.push_back(
        {file, 0, 0,
         "larger than " + std::to_string(limits.max_file_bytes) + " bytes; not parsed"});
    return;
  }
  uint32_t document = 0;
  for (const Chunk& chunk : SplitDocuments(text)) {
    ParseChunk(chunk, file, limits, document, out,
               [&](Value root, uint32_t index) { AddDocument(std::move(root), file, index, out); });
  }
}

Result<Value> ParseYamlDocument(std::string_view text, const std::string& name,
                                const LoadLimits& limits) {
  LoadResult scratch;
  Value result;
  bool seen = false;
  uint32_t document = 0;
  for (const Chunk& chunk : SplitDocuments(text)) {
    ParseChunk(chunk, name, limits, document, scratch, [&](Value root, uint32_t) {
      if (root.IsNull() && seen) return;
      if (!seen || result.IsNull()) result = std::move(root);
      seen = true;
    });
  }
  if (!scratch.errors.empty()) return Error{scratch.errors.front().ToString()};
  return result;
}

LoadResult LoadManifests(const std::vector<std::string>& paths, const LoadLimits& limits) {
  LoadResult out;
  for (const std::string& path : paths) {
    if (path == "-") {
      std::string text((std::istreambuf_iterator<char>(std::cin)),
                       std::istreambuf_iterator<char>());
      ParseManifests(text, "-", out, limits);
      continue;
    }
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec) {
      out.errors.push_back({path, 0, 0, ec.message()});
      continue;
    }
    std::vector<std::string> files;
    if (fs::is_directory(status)) {
      fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
      for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        const std::string ext = it->path().extension().string();
        if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(it->path().string());
      }
      if (ec) out.errors.push_back({path, 0, 0, ec.message()});
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(path);
    }
    for (const std::string& file : files) {
      auto text = ReadFileToString(file, limits.max_file_bytes + 1);
      if (!text.ok()) {
        out.errors.push_back({file, 0, 0, text.error().message});
        continue;
      }
      ParseManifests(*text, file, out, limits);
    }
  }
  return out;
}

}  // namespace moat::k8s
