#pragma once
// CEL values from the Kubernetes object model (k8s::Value, the YAML/JSON tree `moat k8s` and
// the admission webhook read): how a ValidatingAdmissionPolicy sees `object` and `oldObject`.

#include "cel/value.h"

namespace moat::k8s {
class Value;
}

namespace moat::cel {

/// Maps become maps with string keys, sequences lists, YAML integers int, floats double,
/// booleans bool, strings string, null null.
Value FromK8sValue(const k8s::Value& value);

}  // namespace moat::cel
