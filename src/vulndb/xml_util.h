#pragma once
// Private helpers for the libxml2-based feed readers (OVAL, ALAS): reading attributes and text of
// expanded nodes without leaking libxml2's allocations. Included only by ingest_*.cpp.

#include <libxml/tree.h>
#include <libxml/xmlreader.h>

#include <string>
#include <string_view>

#include "core/text.h"

namespace moat::vulndb::xml_util {

struct ReaderDeleter {
  void operator()(xmlTextReader* reader) const { xmlFreeTextReader(reader); }
};

/// The attribute's value; "" when absent.
inline std::string Attribute(xmlNodePtr node, const char* name) {
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (value == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

/// The node's text content (descendants included), without surrounding blanks.
inline std::string Text(xmlNodePtr node) {
  xmlChar* value = xmlNodeGetContent(node);
  if (value == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return std::string(TrimSpace(out));
}

inline std::string_view LocalName(xmlNodePtr node) {
  return node->name ? reinterpret_cast<const char*>(node->name) : "";
}

}  // namespace moat::vulndb::xml_util
