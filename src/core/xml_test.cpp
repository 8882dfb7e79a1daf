#include "core/xml.h"

#include <gtest/gtest.h>
#include <libxml/tree.h>

namespace moat::xml {
namespace {

TEST(Xml, NodesTextAndAttributes) {
  auto doc = Parse(R"(<?xml version="1.0"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <groupId>  org.example </groupId>
  <dependency scope=" test " id="d1"><artifactId>lib<!-- c --></artifactId></dependency>
</project>)",
                   "/app/pom.xml");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  EXPECT_EQ(Name(root), "project");  // the local name, without the namespace
  EXPECT_EQ(ChildText(root, "groupId"), "org.example");
  const xmlNode* dependency = Child(root, "dependency");
  ASSERT_NE(dependency, nullptr);
  EXPECT_EQ(Attribute(dependency, "scope"), "test");
  EXPECT_EQ(Attribute(dependency, "missing"), "");
  EXPECT_EQ(ChildText(dependency, "artifactId"), "lib");
  EXPECT_EQ(Child(root, "absent"), nullptr);
  EXPECT_EQ(Text(nullptr), "");
  EXPECT_EQ(Name(nullptr), "");
}

TEST(Xml, UntrustedInputErrorsNameTheFileAndLine) {
  auto broken = Parse("<a>\n<b>\n</a>", "/x/packages.config");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message.rfind("/x/packages.config: line 3: ", 0), 0u)
      << broken.error().message;
  // No entity expansion from outside the document, no network.
  auto external = Parse(R"(<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>)",
                        "/x/a.xml");
  if (external.ok()) {
    EXPECT_EQ(Text(xmlDocGetRootElement(external->get())).find("root:"), std::string::npos);
  }
}

}  // namespace
}  // namespace moat::xml
