#!/usr/bin/env bash
# Schemathesis (from PyPI) against the live server, driven by its own GET /openapi.json.
# Checks: no 5xx, every status and content type documented, every answer matching its schema.
# Deterministic (fixed seed), 20 examples per operation; about a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4,<5' 2>&1 | grep -v "Running pip as the 'root' user" || true
cargo build --quiet
work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

token="$(target/debug/inboxd token create --workspace schemathesis --db "$work/inboxd.db" | tail -n1)"
INBOXD_LOG_FORMAT=json target/debug/inboxd serve --db "$work/inboxd.db" --listen 127.0.0.1:0 2>"$work/server.log" &
server=$!
addr=""
for _ in $(seq 1 100); do
  addr="$(grep -o '"addr":"[^"]*"' "$work/server.log" | head -n1 | cut -d'"' -f4 || true)"
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/server.log"; echo "the server did not start"; exit 1; }

# The console script sits in the interpreter's scripts directory (pyenv shims may lag behind).
st="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/schemathesis"
[ -x "$st" ] || st="schemathesis"
"$st" run "http://$addr/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples 20 --seed 20261129 --generation-database none --request-timeout 30 --no-color

# The server is still healthy, and stops cleanly on SIGTERM.
curl -fsS "http://$addr/health" >/dev/null 2>&1 || python3 -c "import urllib.request; urllib.request.urlopen('http://$addr/health')"
kill -TERM "$server"
wait "$server"
server=""
echo "schemathesis: passed"
