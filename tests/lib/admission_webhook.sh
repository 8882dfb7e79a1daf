# shellcheck shell=bash
# For the scripted tests of `moat admission serve` (tests/admission*_test.sh): a CA and serving
# certificate for 127.0.0.1 made with openssl, and the webhook started on a free port.

# make_webhook_certs: ca.crt/ca.key and tls.crt/tls.key (IP 127.0.0.1, DNS localhost) in the
# current directory.
make_webhook_certs() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
    -keyout ca.key -out ca.crt 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=webhook \
    -keyout tls.key -out tls.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >tls.ext
  openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile tls.ext -out tls.crt 2>/dev/null
}

# start_webhook LOG ARG...: `$MOAT admission serve ARG... --listen 127.0.0.1:0` with the
# certificates above, its log in LOG; sets SERVER_PID, URL (https://127.0.0.1:PORT) and PORT once
# it listens, or prints the log and a FAIL line and exits.
start_webhook() {
  local log=$1; shift
  "$MOAT" admission serve "$@" --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key \
    2>"$log" &
  SERVER_PID=$!
  URL=""
  for _ in $(seq 100); do
    URL=$(grep -o 'https://127.0.0.1:[0-9]*' "$log" | head -n 1)
    [ -n "$URL" ] && break
    sleep 0.1
  done
  [ -n "$URL" ] || { cat "$log"; echo "FAIL server did not start"; exit 1; }
  PORT=${URL##*:}
}
