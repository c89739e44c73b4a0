#!/usr/bin/env bash
# CX analytics against a real server, on a copy of an embedded store
# (BENCHMARKS.md, "CX analytics"). Usage:
#
#   bench/cx_server.sh STORE_DIR COURSE_IRI [WORK_DIR]
#
# STORE_DIR is an embedded store with statements imported (it is copied,
# never written). Builds the release binary and harness, then:
#   1. first start on the copy: the state is built from the whole log
#      (after an upgrade, records of an older format are dropped first):
#      the time until caught up gives the aggregator's throughput;
#   2. RUNS times (default 3): every /analytics/v1 request shape and
#      /metrics (cx_bench http), RSS, then a stop and a start: time until
#      ready with the state loaded, and RSS;
#   3. reflection delay while ingesting 5,000 statements/s (cx_bench reflect).
# bench/cx_median.py turns the output into medians.
set -euo pipefail
store=${1:?store directory}
course=${2:?course IRI}
work=${3:-/tmp/cx-bench-server}
port=${PORT:-18321}
runs=${RUNS:-3}
key=bench; secret=bench-secret-123
target=${CARGO_TARGET_DIR:-target}
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release --bin trellis --example cx_bench
fi
bin=$target/release/trellis
harness=$target/release/examples/cx_bench
url=http://127.0.0.1:$port
rm -rf "$work"; mkdir -p "$work"
cp -a "$store" "$work/store"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

start() {
  TRELLIS_ADMIN_KEY=$key TRELLIS_ADMIN_SECRET=$secret \
    "$bin" --data-dir "$work/store" serve --listen 127.0.0.1:$port >>"$work/server.log" 2>&1 &
  pid=$!
}

stop() { kill -INT "$pid"; wait "$pid" || true; }

# Seconds until the analytics answer (state loaded) and the aggregator
# reports no lag.
wait_ready() {
  local t0=$1
  until curl -sf -u $key:$secret "$url/analytics/v1/activity?period=month&since=2030-01-01T00:00:00Z" >/dev/null; do sleep 0.05; done
  echo "ready (state loaded) after $(echo "$(date +%s.%N) - $t0" | bc) s"
  until curl -s "$url/metrics" | grep -q '^trellis_aggregator_lag_seconds{aggregator="cx"} 0$'; do sleep 0.2; done
  echo "caught up with the log after $(echo "$(date +%s.%N) - $t0" | bc) s"
}

# VmRSS, and of it the anonymous memory (the CX state, SQLite's page cache)
# and the file pages (the store's memory-mapped database file).
rss() { echo "RSS $(awk '/^(VmRSS|RssAnon|RssFile)/ {printf "%s%d MiB ", (NR>1&&$1!="VmRSS:"?$1" ":""), $2/1024}' /proc/$pid/status)"; }

t0=$(date +%s.%N); start; wait_ready "$t0"
echo "log position: $(curl -s "$url/metrics" | grep '^trellis_aggregator_checkpoint{aggregator="cx"}')"
sleep 5; rss
for run in $(seq 1 "$runs"); do
  echo "run $run, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$harness" http "$url" $key $secret "$course" "${REQUESTS:-200}"
  rss
  stop
  t0=$(date +%s.%N); start; wait_ready "$t0"; sleep 2; rss
done
"$harness" reflect "$url" $key $secret "${RATE:-5000}" "${SECONDS_:-30}"
rss
stop
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
