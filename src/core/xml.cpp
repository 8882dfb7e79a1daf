#include "core/xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>

#include <cstdint>

#include "core/text.h"

namespace moat::xml {

void DocDeleter::operator()(_xmlDoc* doc) const { xmlFreeDoc(doc); }

void ReaderDeleter::operator()(_xmlTextReader* reader) const { xmlFreeTextReader(reader); }

Result<Doc> Parse(std::string_view text, const std::string& file_path) {
  // libxml2 sets up its global state once, before threads use it.
  static const bool initialized = (xmlInitParser(), true);
  (void)initialized;
  if (text.size() > static_cast<size_t>(INT32_MAX)) return Fail(file_path, ": too large");
  // No network, no entity substitution, no DTD loading: the file is untrusted input.
  xmlDoc* doc = xmlReadMemory(text.data(), static_cast<int>(text.size()), file_path.c_str(),
                              nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == nullptr) {
    const xmlError* error = xmlGetLastError();
    std::string message = error && error->message ? std::string(TrimSpace(error->message))
                                                  : std::string("not well-formed XML");
    return Fail(file_path, ": line ", std::to_string(error ? error->line : 0), ": ", message);
  }
  return Doc(doc);
}

std::string_view Name(const xmlNode* node) {
  return node && node->name ? std::string_view(reinterpret_cast<const char*>(node->name))
                            : std::string_view();
}

const xmlNode* Child(const xmlNode* node, std::string_view name) {
  for (const xmlNode* child = node ? node->children : nullptr; child; child = child->next) {
    if (child->type == XML_ELEMENT_NODE && Name(child) == name) return child;
  }
  return nullptr;
}

std::string Text(const xmlNode* node) {
  if (node == nullptr) return {};
  xmlChar* content = xmlNodeGetContent(node);
  std::string text = content ? std::string(TrimSpace(reinterpret_cast<const char*>(content))) : "";
  xmlFree(content);
  return text;
}

std::string ChildText(const xmlNode* node, std::string_view name) {
  return Text(Child(node, name));
}

std::string Attribute(const xmlNode* node, const char* name) {
  if (node == nullptr) return {};
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (value == nullptr) return "";
  std::string out(TrimSpace(reinterpret_cast<const char*>(value)));
  xmlFree(value);
  return out;
}

}  // namespace moat::xml
