#!/usr/bin/env bash
# What `acteur-cluster` needs besides a Rust toolchain, from the
# distribution's packages (Debian and Ubuntu):
#
#   scripts/cluster-setup.sh
#
# - protoc and the protobuf well-known types (`protobuf-compiler`,
#   `libprotobuf-dev`): the etcd client and the node-to-node protocol are
#   generated from .proto files at build time;
# - etcd (`etcd-server`, 3.4 or newer: only KV, Txn, Lease and Watch are
#   used): the tests start their own private etcd on free ports, and a
#   cluster needs one to run.
#
# Installs only what is missing; needs root (or sudo) to install.
set -euo pipefail

missing=()
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || missing+=(libprotobuf-dev)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)

if [ ${#missing[@]} -eq 0 ]; then
  echo "protoc, the protobuf types and etcd are installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" != 0 ]; then
  sudo=(sudo)
fi
echo "installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
# Debian's package also starts etcd as a service on the default ports; the
# tests do not use it (they start their own on free ports).
protoc --version
etcd --version | head -n 1
