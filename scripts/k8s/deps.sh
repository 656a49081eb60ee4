#!/usr/bin/env bash
# Installs the Debian packages the test bed runs on (idempotently):
# containerd, runc, the CNI plugins, iptables, debootstrap (images).
set -euo pipefail
. "$(dirname "$0")/env.sh"
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=()
for p in containerd runc containernetworking-plugins iptables conntrack debootstrap openssl gcc libc6-dev; do
  have_pkg "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # containerd's package would start a system-wide daemon: the test bed
  # runs its own.
  policy=/usr/sbin/policy-rc.d
  restore_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    restore_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ "$restore_policy" -eq 1 ] && $SUDO rm -f "$policy"
fi
