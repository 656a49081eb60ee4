#!/usr/bin/env bash
# Installs what dbaasd's engines and tests need on Debian 12, idempotently:
# PostgreSQL 15 server binaries, PgBouncer, zstd (it compresses archived
# WAL), MariaDB (server, backup, Galera, and stunnel, which encrypts
# Galera's rsync state transfers), Redis,
# Chromium (the console's browser tests); see apt.sh. Then versitygw, the
# S3-compatible server the backup storage tests run, built from its Go
# module into a cache keyed by its version (scripts/k8s/build.sh s3; set
# K8S_CACHE to a writable directory when not root).
set -euo pipefail

. "$(dirname "$0")/apt.sh"
apt_install postgresql-15 postgresql-contrib pgbouncer redis-server redis-sentinel mariadb-server mariadb-backup \
  galera-4 rsync socat stunnel4 zstd chromium

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
