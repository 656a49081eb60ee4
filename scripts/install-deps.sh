#!/usr/bin/env bash
# Installs what dbaasd's engines and tests need on Debian 12, idempotently:
# PostgreSQL 15 server binaries, PgBouncer, MariaDB (server, backup, Galera,
# and stunnel, which encrypts Galera's rsync state transfers), Redis. Package
# post-install scripts are kept from starting the system-wide services:
# dbaasd runs its own servers on its own ports. Then versitygw, the
# S3-compatible server the backup storage tests run, built from its Go
# module into a cache keyed by its version (scripts/k8s/build.sh s3; set
# K8S_CACHE to a writable directory when not root).
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in postgresql-15 postgresql-contrib pgbouncer redis-server redis-sentinel mariadb-server mariadb-backup galera-4 rsync socat stunnel4 chromium; do
  have_pkg "$p" || need+=("$p")
done

if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Keep package scripts from starting system services during the install.
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

# System-wide instances may have been started by an earlier install: dbaasd
# does not use them, and they hold the default ports.
for svc in redis-server redis-sentinel mariadb pgbouncer postgresql; do
  if command -v service >/dev/null 2>&1; then
    service "$svc" stop >/dev/null 2>&1 || true
  fi
done

# The first build takes minutes (a cold Go build cache); later runs find it.
"$(dirname "$0")/k8s/build.sh" s3
exit 0
