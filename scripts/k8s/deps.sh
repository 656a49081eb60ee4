#!/usr/bin/env bash
# Installs the Debian packages the test bed runs on (idempotently):
# containerd, runc, the CNI plugins, iptables, debootstrap (images).
set -euo pipefail
. "$(dirname "$0")/env.sh"
. "$(dirname "$0")/../apt.sh"
apt_install containerd runc containernetworking-plugins iptables conntrack debootstrap openssl gcc libc6-dev
