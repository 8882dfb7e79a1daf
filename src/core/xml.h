#pragma once
// XML for every reader of untrusted XML (pom.xml, packages.config and nuspec, OVAL, yum
// updateinfo, ALAS pages): libxml2 with no network access and no entity expansion, errors naming
// the file and the line, node helpers that free what libxml2 allocates. libxml2's headers stay
// out of this one; callers that walk nodes include <libxml/tree.h> themselves.

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

struct _xmlDoc;
struct _xmlNode;
struct _xmlTextReader;

namespace moat::xml {

struct DocDeleter {
  void operator()(_xmlDoc* doc) const;
};
using Doc = std::unique_ptr<_xmlDoc, DocDeleter>;

/// Frees a streaming reader (xmlTextReader), as the OVAL and updateinfo readers use.
struct ReaderDeleter {
  void operator()(_xmlTextReader* reader) const;
};

/// Parses an untrusted XML file whole; the error is "FILE: line N: what libxml2 says".
Result<Doc> Parse(std::string_view text, const std::string& file_path);

/// The element's local name ("" for null).
std::string_view Name(const _xmlNode* node);
/// The first child element called `name`, or null.
const _xmlNode* Child(const _xmlNode* node, std::string_view name);
/// The node's text content (descendants included) without surrounding blanks ("" for null).
std::string Text(const _xmlNode* node);
/// Text(Child(node, name)).
std::string ChildText(const _xmlNode* node, std::string_view name);
/// The attribute's value without surrounding blanks; "" when absent.
std::string Attribute(const _xmlNode* node, const char* name);

}  // namespace moat::xml
