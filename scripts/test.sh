#!/usr/bin/env bash
# Runs every Trellis test: formatting and lints, the Rust unit, contract and
# black-box tests, the deploy files (promtool, YAML/JSON), the xAPI
# conformance suite (conformance-tests/), real xAPI client libraries
# (xAPI.js, TinCanJS) against a real server, the web dashboard in a real
# browser (Chromium), and the metric names the alerts and the Grafana
# dashboard use against that
# server's /metrics. Installs what it needs (Python virtualenvs, promtool,
# nodejs, chromium).
#
#   ./scripts/test.sh
#
# Honours CARGO_TARGET_DIR. Set TRELLIS_URL/TRELLIS_KEY/TRELLIS_SECRET to run
# the conformance suite against an already running server instead.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# A run from a clean clone (CI) never reuses incremental state, which only
# costs disk (about half of a debug target directory) and time.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi

step() { printf '\n==> %s\n' "$*"; }

cleanups=()
cleanup() { for c in "${cleanups[@]}"; do eval "$c"; done; }
trap cleanup EXIT
# Servers start on port 0 and announce the address they bound in their log
# (no free port is picked ahead of time: another process could take it).
# Prints group 1 of REGEX's first match in LOG; fails if PID exits first or
# after 60 s.
announced_address() {  # LOG REGEX PID
  python3 - "$@" <<'PY'
import os, re, sys, time
log, pattern, pid = sys.argv[1], re.compile(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + 60
while True:
    try:
        text = re.sub(r"\x1b\[[0-9;]*m", "", open(log, errors="replace").read())
    except FileNotFoundError:
        text = ""
    match = pattern.search(text)
    if match:
        print(match.group(1))
        sys.exit(0)
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"the server (pid {pid}) exited before it announced its address:\n{text[-3000:]}")
    if time.monotonic() > deadline:
        sys.exit(f"no address in {log} after 60 s:\n{text[-3000:]}")
    time.sleep(0.1)
PY
}

step "MongoDB-wire test server (SecantusDB)"
# The MongoDB backend is tested against a real MongoDB-wire server. Point
# TRELLIS_TEST_MONGODB_URI at any MongoDB replica set (a real mongod) to use
# it instead; the crash tests also need TRELLIS_TEST_MONGODB_SERVER, a server
# program they can start and kill themselves.
mongo_venv="$target_dir/mongodb-venv"
if [ ! -x "$mongo_venv/bin/secantusd-py" ]; then
  python3 -m venv "$mongo_venv"
  "$mongo_venv/bin/pip" install --quiet --disable-pip-version-check SecantusDB==0.7.0b3
fi
export TRELLIS_TEST_MONGODB_SERVER="${TRELLIS_TEST_MONGODB_SERVER:-$mongo_venv/bin/secantusd-py}"
# The crash tests kill their own server: SecantusDB fsyncs a journaled
# commit only with --sync-on-commit, without which it loses acknowledged
# writes to kill -9 (mongod honours j:true). The shared server below is
# never killed and runs without it, for speed.
export TRELLIS_TEST_MONGODB_SERVER_ARGS="${TRELLIS_TEST_MONGODB_SERVER_ARGS---sync-on-commit}"
if [ -z "${TRELLIS_TEST_MONGODB_URI:-}" ]; then
  mongo_dir=$(mktemp -d)
  "$TRELLIS_TEST_MONGODB_SERVER" --host 127.0.0.1 --port 0 --storage-path "$mongo_dir" \
    >"$mongo_dir.log" 2>&1 &
  mongo_pid=$!
  cleanups+=("kill $mongo_pid 2>/dev/null; wait $mongo_pid 2>/dev/null; rm -rf '$mongo_dir' '$mongo_dir.log'")
  mongo_address=$(announced_address "$mongo_dir.log" 'listening on (\S+:\d+)' "$mongo_pid")
  export TRELLIS_TEST_MONGODB_URI="mongodb://$mongo_address"
fi
echo "MongoDB tests use $TRELLIS_TEST_MONGODB_URI"

step "docs/cx-metrics.md is the current product definition"
# The repository carries a copy of the metric definitions so that a clone
# is self-contained; when the shared original sits beside the clone (as on
# the team's machines and in CI), the copy must equal it.
if [ -f ../shared/cx-metrics.md ]; then
  cmp docs/cx-metrics.md ../shared/cx-metrics.md ||
    { echo "docs/cx-metrics.md differs from ../shared/cx-metrics.md: copy it" >&2; exit 1; }
else
  echo "no ../shared/cx-metrics.md beside the clone: nothing to compare"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

step "cargo build"
cargo build --locked

# The property tests (proptest: src/xapi/props.rs, src/http/multipart.rs,
# tests/it/robustness.rs) are ordinary tests with bounded case counts.
step "cargo test (unit, property, storage contract on SQLite and MongoDB, black-box)"
cargo test --locked

step "deploy files (promtool check/test rules, YAML and JSON, Kubernetes schemas)"
if ! command -v promtool >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
fi
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts.test.yml
# The compose config names the rule file by its path inside the container.
prom_config=$(mktemp)
sed "s#/etc/prometheus/alerts.yml#$PWD/deploy/prometheus/alerts.yml#" deploy/prometheus/prometheus.yml > "$prom_config"
promtool check config "$prom_config"
rm -f "$prom_config"
deploy_venv="$target_dir/deploy-venv"
if [ ! -x "$deploy_venv/bin/python" ] || ! cmp -s deploy/tests/requirements.txt "$deploy_venv/requirements.txt"; then
  python3 -m venv "$deploy_venv"
  "$deploy_venv/bin/pip" install --quiet --disable-pip-version-check -r deploy/tests/requirements.txt
  cp deploy/tests/requirements.txt "$deploy_venv/requirements.txt"
fi
"$deploy_venv/bin/python" deploy/tests/check_deploy.py selftest
"$deploy_venv/bin/python" deploy/tests/check_deploy.py parse
"$deploy_venv/bin/python" deploy/tests/check_deploy.py kubernetes

step "conformance suite (conformance-tests/), embedded store"
venv="$target_dir/conformance-venv"
if [ ! -x "$venv/bin/pytest" ] || ! cmp -s conformance-tests/requirements.txt "$venv/requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r conformance-tests/requirements.txt
  cp conformance-tests/requirements.txt "$venv/requirements.txt"
fi
export TRELLIS_BIN="${TRELLIS_BIN:-$target_dir/debug/trellis}"
env -u TRELLIS_MONGODB_URI "$venv/bin/pytest" -q -p no:cacheprovider conformance-tests

step "conformance suite (conformance-tests/), MongoDB store"
TRELLIS_MONGODB_URI="$TRELLIS_TEST_MONGODB_URI" "$venv/bin/pytest" -q -p no:cacheprovider conformance-tests

step "xAPI client libraries (clients/xapi-js: xAPI.js, clients/tincanjs: TinCanJS, against a running server)"
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
(cd clients/xapi-js && npm ci --silent --no-audit --no-fund)
(cd clients/tincanjs && npm ci --silent --no-audit --no-fund)
data=$(mktemp -d)
secret=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
TRELLIS_ADMIN_KEY=client-test TRELLIS_ADMIN_SECRET="$secret" \
  "$TRELLIS_BIN" serve --listen 127.0.0.1:0 --data-dir "$data" --allow-profile-put-without-precondition \
  >"$data.log" 2>&1 &
server=$!
cleanups+=("kill $server 2>/dev/null; rm -rf '$data' '$data.log'")
address=$(announced_address "$data.log" 'address\W+(127\.0\.0\.1:\d+)' "$server")
(cd clients/xapi-js && TRELLIS_URL="http://$address" TRELLIS_KEY=client-test TRELLIS_SECRET="$secret" node --test test.mjs)
(cd clients/tincanjs && TRELLIS_URL="http://$address" TRELLIS_KEY=client-test TRELLIS_SECRET="$secret" node --test test.mjs)

step "dashboard in a real browser (system Chromium driven by Playwright)"
# Starts its own server, fills it with the simulator, signs in and checks
# every view at 1280x800 and 375 px against the API; screenshots of every
# view go to $target_dir/dashboard-screenshots/.
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
dashboard_venv="$target_dir/dashboard-venv"
if [ ! -x "$dashboard_venv/bin/python" ] || ! cmp -s tests/dashboard/requirements.txt "$dashboard_venv/requirements.txt"; then
  python3 -m venv "$dashboard_venv"
  "$dashboard_venv/bin/pip" install --quiet --disable-pip-version-check -r tests/dashboard/requirements.txt
  cp tests/dashboard/requirements.txt "$dashboard_venv/requirements.txt"
fi
CHROMIUM=/usr/bin/chromium SCREENSHOTS="$target_dir/dashboard-screenshots" \
  "$dashboard_venv/bin/python" tests/dashboard/browser_test.py

step "metric names used by deploy/ exist in a running server's /metrics"
# A simulated school gives every CX gauge a value (a gauge with no data,
# such as NPS before any survey answer, is not exported).
"$TRELLIS_BIN" simulate --endpoint "http://$address/xapi/" --user client-test --password="$secret" \
  --learners 60 --days 60 --seed 7 --quiet
for _ in $(seq 100); do
  curl -sf "http://$address/metrics" -o "$data/metrics.txt" &&
    grep -q '^trellis_cx_nps_score' "$data/metrics.txt" && break
  sleep 0.2
done
"$deploy_venv/bin/python" deploy/tests/check_deploy.py metrics --url "http://$address/metrics"
