#!/usr/bin/env bash
# A three-node cluster on this machine, with its own etcd:
#
#   scripts/cluster-demo.sh
#
# Starts etcd on free ports of 127.0.0.1 (data in a temporary directory),
# builds and starts three `cluster_node` example processes, increments
# counters through each of them, shows which node answered, then makes the
# nodes leave and stops etcd. Needs scripts/cluster-setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

command -v etcd >/dev/null || { echo "etcd is missing: run scripts/cluster-setup.sh"; exit 1; }
cargo build --quiet --release -p acteur-cluster --example cluster_node
node_bin=target/release/examples/cluster_node

work=$(mktemp -d)
client=$(free_port)
peer=$(free_port)
etcd --name demo --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "demo=http://127.0.0.1:$peer" >"$work/etcd.log" 2>&1 &
etcd_pid=$!
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  kill "$etcd_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$client/health" >/dev/null 2>&1 && break
  sleep 0.1
done

# Each node reads commands from a FIFO and writes its answers to a file.
for name in a b c; do
  mkfifo "$work/$name.in"
  "$node_bin" --cluster demo --etcd "http://127.0.0.1:$client" --listen 127.0.0.1:0 \
    --lease-ttl-ms 4000 --partitions 64 --log "$work/$name.events" \
    <"$work/$name.in" >"$work/$name.out" &
  pids+=($!)
  exec {fd}>"$work/$name.in"
  eval "fd_$name=$fd"
done
for name in a b c; do
  until grep -q '"ready"' "$work/$name.out" 2>/dev/null; do sleep 0.1; done
  echo "node $name: $(head -n 1 "$work/$name.out")"
done

req=0
for id in 1 2 3 4 5 6; do
  for name in a b c; do
    req=$((req + 1))
    fd_var="fd_$name"
    echo "{\"req\":$req,\"cmd\":\"inc\",\"id\":$id,\"op\":\"$name-$id\"}" >&"${!fd_var}"
  done
done
for name in a b c; do
  req=$((req + 1))
  fd_var="fd_$name"
  echo "{\"req\":$req,\"cmd\":\"get\",\"id\":1}" >&"${!fd_var}"
done
expected=$((req))
until [ "$(cat "$work"/?.out | grep -c '"req"')" -ge "$expected" ]; do sleep 0.1; done
echo "answers, in request order (node = where the counter's handler ran; the requests"
echo "were sent concurrently, so a get may overtake an increment sent through another node):"
cat "$work"/?.out | grep '"req"' | python3 -c '
import json, sys
for answer in sorted((json.loads(line) for line in sys.stdin), key=lambda a: a["req"]):
    print(json.dumps(answer))'

for name in a b c; do
  fd_var="fd_$name"
  echo '{"cmd":"leave"}' >&"${!fd_var}"
done
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()
echo "all three nodes left the cluster"
