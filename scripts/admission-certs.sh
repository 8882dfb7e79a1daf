#!/usr/bin/env bash
# Makes the admission webhook's TLS material with OpenSSL: a CA (P-256, 10 years) and a serving
# certificate it signs for the webhook Service (moat-admission.NAMESPACE.svc, 1 year), then writes
# the webhook configurations with the CA in their caBundle.
#
# Usage: scripts/admission-certs.sh [OUT_DIR] [NAMESPACE]     (defaults: ./admission-certs, moat-admission)
# Then:
#   kubectl apply -f deploy/admission/namespace.yaml
#   kubectl -n NAMESPACE create secret tls moat-admission-tls --cert=OUT_DIR/tls.crt --key=OUT_DIR/tls.key
#   kubectl apply -f deploy/admission/config.yaml -f deploy/admission/webhook.yaml
#   kubectl apply -f OUT_DIR/webhook-configuration.yaml
# Run it again before the serving certificate expires with the same OUT_DIR: the CA is kept (the
# caBundle stays valid) and only the serving certificate is renewed; replace the Secret and the
# webhook re-reads the files without a restart.
set -euo pipefail
out=${1:-admission-certs}
namespace=${2:-moat-admission}
here=$(cd "$(dirname "$0")/.." && pwd)
service=moat-admission
mkdir -p "$out"
umask 077
if [ ! -s "$out/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=moat-admission-ca" -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=$service.$namespace.svc" -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
cat >"$out/tls.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local,DNS:$service.$namespace
EXT
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days 365 -extfile "$out/tls.ext" -out "$out/tls.crt" 2>/dev/null
rm -f "$out/tls.csr" "$out/tls.ext"
openssl verify -CAfile "$out/ca.crt" "$out/tls.crt" >/dev/null
ca_bundle=$(base64 -w0 <"$out/ca.crt")
sed -e "s|caBundle: \"\"|caBundle: \"$ca_bundle\"|" \
  -e "s|namespace: moat-admission|namespace: $namespace|" \
  -e "s|values: \[moat-admission,|values: [$namespace,|" \
  "$here/deploy/admission/webhook-configuration.yaml" >"$out/webhook-configuration.yaml"
chmod 644 "$out/ca.crt" "$out/tls.crt" "$out/webhook-configuration.yaml"
echo "wrote $out/ca.crt, $out/tls.crt, $out/tls.key and $out/webhook-configuration.yaml (caBundle filled)"
