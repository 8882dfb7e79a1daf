#pragma once
// XML for the analyzers (Maven's pom.xml; .NET's packages.config and nuspec can share it):
// libxml2 with no network access and no entity expansion, errors naming the file and line.

#include <libxml/tree.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::lang {

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocDeleter>;

/// Parses an untrusted XML file; the error is "FILE: line N: what libxml2 says".
Result<XmlDoc> ParseXml(std::string_view text, const std::string& file_path);

/// The element's local name ("" for null).
std::string_view XmlName(const xmlNode* node);
/// The first child element called `name`, or null.
const xmlNode* XmlChild(const xmlNode* node, std::string_view name);
/// The element's text content without surrounding whitespace ("" for null).
std::string XmlText(const xmlNode* node);
/// XmlText(XmlChild(node, name)).
std::string XmlChildText(const xmlNode* node, std::string_view name);

}  // namespace moat::lang
