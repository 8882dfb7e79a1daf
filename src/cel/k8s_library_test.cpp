// The Kubernetes CEL libraries, with the examples of the Kubernetes documentation
// (https://kubernetes.io/docs/reference/using-api/cel/).
#include <gtest/gtest.h>

#include "cel/json.h"
#include "cel/program.h"

namespace moat::cel {
namespace {

std::string Cel(const std::string& expression) {
  auto program = Compile(expression);
  if (!program.ok()) return "compile error: " + program.error().message;
  auto result = program->Evaluate(Activation());
  if (!result.ok()) return "error: " + result.error().message;
  return ToJson(*result);
}

TEST(CelKubernetesLibrary, Url) {
  EXPECT_EQ(Cel("url('https://example.com:80/').getHost()"), R"("example.com:80")");
  EXPECT_EQ(Cel("url('https://example.com:80/').getHostname()"), R"("example.com")");
  EXPECT_EQ(Cel("url('https://[::1]:80/').getHostname()"), R"("::1")");
  EXPECT_EQ(Cel("url('https://[::1]:80/').getPort()"), R"("80")");
  EXPECT_EQ(Cel("url('https://example.com/').getPort()"), R"("")");
  EXPECT_EQ(Cel("url('https://example.com/path').getScheme()"), R"("https")");
  EXPECT_EQ(Cel("url('https://example.com/with space/').getEscapedPath()").substr(0, 6), "error:");
  EXPECT_EQ(Cel("url('https://example.com/path%20with%20space/').getEscapedPath()"),
            R"("/path%20with%20space/")");
  EXPECT_EQ(Cel("url('https://example.com/?k=a&k=b&x=1').getQuery()"),
            R"({"k":["a","b"],"x":["1"]})");
  EXPECT_EQ(Cel("isURL('https://example.com/') && isURL('/absolute/path') && "
                "!isURL('relative/path') && !isURL('')"),
            "true");
  EXPECT_EQ(Cel("url('/path').getHost()"), R"("")");
}

TEST(CelKubernetesLibrary, IpAndCidr) {
  EXPECT_EQ(Cel("isIP('127.0.0.1') && isIP('::1') && !isIP('1.2.3') && !isIP('::ffff:1.2.3.4')"),
            "true");
  EXPECT_EQ(Cel("ip('127.0.0.1').family()"), "4");
  EXPECT_EQ(Cel("ip('fe80::1').family()"), "6");
  EXPECT_EQ(Cel("ip('127.0.0.1').isLoopback() && ip('::').isUnspecified()"), "true");
  EXPECT_EQ(Cel("ip('169.254.1.1').isLinkLocalUnicast() && ip('fe80::1').isLinkLocalUnicast()"),
            "true");
  EXPECT_EQ(Cel("ip('224.0.0.1').isLinkLocalMulticast() && ip('ff02::1').isLinkLocalMulticast()"),
            "true");
  EXPECT_EQ(Cel("ip('192.168.0.1').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast()"),
            "true");
  EXPECT_EQ(Cel("ip.isCanonical('2001:db8::abc') && !ip.isCanonical('2001:DB8::ABC')"), "true");
  EXPECT_EQ(Cel("string(ip('2001:DB8::ABC'))"), R"("2001:db8::abc")");
  EXPECT_EQ(Cel("ip('127.0.0.1') == ip('127.0.0.1') && ip('127.0.0.1') != ip('127.0.0.2')"),
            "true");
  EXPECT_EQ(Cel("cidr('192.168.0.0/16').containsIP(ip('192.168.1.5'))"), "true");
  EXPECT_EQ(Cel("cidr('192.168.0.0/16').containsIP('192.169.0.1')"), "false");
  EXPECT_EQ(Cel("cidr('192.168.0.0/16').containsCIDR('192.168.10.0/24')"), "true");
  EXPECT_EQ(Cel("cidr('192.168.10.0/24').containsCIDR(cidr('192.168.0.0/16'))"), "false");
  EXPECT_EQ(Cel("cidr('192.168.1.5/24').masked() == cidr('192.168.1.0/24')"), "true");
  EXPECT_EQ(Cel("cidr('192.168.1.5/24').ip() == ip('192.168.1.5')"), "true");
  EXPECT_EQ(Cel("cidr('::1/128').prefixLength()"), "128");
  EXPECT_EQ(Cel("isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0/33') && !isCIDR('10.0.0.0')"), "true");
  EXPECT_EQ(Cel("ip('nope')"), "error: 1:1: IP Address 'nope' parse error");
}

TEST(CelKubernetesLibrary, Quantity) {
  EXPECT_EQ(Cel("quantity('1Gi').isGreaterThan(quantity('500Mi'))"), "true");
  EXPECT_EQ(Cel("quantity('1.5Gi').asInteger()"), "1610612736");
  EXPECT_EQ(Cel("quantity('100m').asApproximateFloat()"), "0.1");
  EXPECT_EQ(Cel("quantity('100m').isInteger()"), "false");
  EXPECT_EQ(Cel("quantity('1e3').asInteger()"), "1000");
  EXPECT_EQ(Cel("quantity('500m').compareTo(quantity('0.5'))"), "0");
  EXPECT_EQ(Cel("quantity('1k') == quantity('1000')"), "true");
  EXPECT_EQ(Cel("quantity('200M').add(quantity('300M')).asInteger()"), "500000000");
  EXPECT_EQ(Cel("quantity('1').sub(2).sign()"), "-1");
  EXPECT_EQ(Cel("quantity('1').add(quantity('500m'))"), R"("1500m")");
  EXPECT_EQ(Cel("isQuantity('1.5Gi') && !isQuantity('1.5Gx') && !isQuantity('')"), "true");
  EXPECT_EQ(Cel("quantity('100m').asInteger()"), "error: 1:18: cannot convert value to integer");
}

TEST(CelKubernetesLibrary, Semver) {
  EXPECT_EQ(Cel("semver('1.2.3').isLessThan(semver('2.0.0'))"), "true");
  EXPECT_EQ(Cel("semver('1.0.0-alpha').isLessThan(semver('1.0.0-alpha.1'))"), "true");
  EXPECT_EQ(Cel("semver('1.0.0-alpha.beta').compareTo(semver('1.0.0-beta'))"), "-1");
  EXPECT_EQ(Cel("semver('1.0.0-rc.1').isLessThan(semver('1.0.0'))"), "true");
  EXPECT_EQ(Cel("semver('1.0.0+build.1') == semver('1.0.0+build.2')"), "true");
  EXPECT_EQ(Cel("semver('1.2.3').major() + semver('1.2.3').minor() + semver('1.2.3').patch()"),
            "6");
  EXPECT_EQ(Cel("isSemver('1.2.3') && !isSemver('v1.2.3') && isSemver('v1.2', true)"), "true");
  EXPECT_EQ(Cel("!isSemver('01.2.3') && !isSemver('1.2.3-01')"), "true");
  EXPECT_EQ(Cel("string(semver('v1.02', true))"), R"("1.2.0")");
}

TEST(CelKubernetesLibrary, Format) {
  EXPECT_EQ(Cel("format.dns1123Label().validate('my-name')"), "null");
  EXPECT_EQ(Cel("format.dns1123Label().validate('My_Name').hasValue()"), "true");
  EXPECT_EQ(Cel("format.dns1123Label().validate('a'.repeat(64))").substr(0, 14), "compile error:");
  EXPECT_EQ(Cel("format.dns1123Label().validate('" + std::string(64, 'a') + "').value().size()"),
            "1");
  EXPECT_EQ(Cel("format.dns1123Subdomain().validate('example.com')"), "null");
  EXPECT_EQ(Cel("format.dns1035Label().validate('1abc').hasValue()"), "true");
  EXPECT_EQ(Cel("format.dns1123LabelPrefix().validate('my-prefix-')"), "null");
  EXPECT_EQ(Cel("format.qualifiedName().validate('example.com/My.Name')"), "null");
  EXPECT_EQ(Cel("format.qualifiedName().validate('/name').hasValue()"), "true");
  EXPECT_EQ(Cel("format.labelValue().validate('') == optional.none()"), "true");
  EXPECT_EQ(Cel("format.uuid().validate('123e4567-e89b-12d3-a456-426614174000')"), "null");
  EXPECT_EQ(Cel("format.date().validate('2024-02-30').hasValue()"), "true");
  EXPECT_EQ(Cel("format.datetime().validate('2024-02-03T04:05:06Z')"), "null");
  EXPECT_EQ(Cel("format.named('dns1123Label').value().validate('ok')"), "null");
  EXPECT_EQ(Cel("format.named('nope').hasValue()"), "false");
  EXPECT_EQ(Cel("format.byte().validate('!!').hasValue()"), "true");
}

}  // namespace
}  // namespace moat::cel
