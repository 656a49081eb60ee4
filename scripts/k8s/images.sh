#!/usr/bin/env bash
# Makes the test bed's container images without a registry: each is a
# minimal OCI layout (one uncompressed layer, config, manifest, index) in a
# tar under $IMAGES, imported into containerd by up.sh. Cached by version.
#   dbaasd.local/pause:1              a static C program that waits (sandbox image)
#   dbaasd.local/postgresql:15        Debian bookworm (debootstrap) with PostgreSQL 15,
#                                     PgBouncer and barman-cloud: CNPG instances and poolers
#   dbaasd.local/cnpg:<version>       the CloudNativePG operator (static Go binary)
#   dbaasd.local/coredns:<version>    cluster DNS (static Go binary)
#   dbaasd.local/mariadb:10.11        Debian bookworm (debootstrap) with MariaDB 10.11,
#                                     Galera and mariadb-backup, started by the
#                                     entrypoint mariadb-operator expects
#   dbaasd.local/mariadb-operator:<version>
#                                     mariadb-operator (static Go binary): the
#                                     controller and the pods' agent and init
#   dbaasd.local/redis:7.0-<sum>      Debian bookworm (debootstrap) with Redis 7.0 and
#                                     Sentinel, and this repository's dbaasd (its
#                                     redis-forwarder, the firewall); <sum> names the
#                                     dbaasd binary, so the image follows the code
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
mkdir -p "$IMAGES"
work=$(mktemp -d "$IMAGES/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT


# oci NAME TAG LAYER_TAR CONFIG_JSON OUT_TAR: writes an OCI layout archive.
oci() {
  local name=$1 tag=$2 layer=$3 config=$4 out=$5
  local d=$work/oci
  rm -rf "$d"; mkdir -p "$d/blobs/sha256"
  local ldig lsize cdig csize mdig msize
  ldig=$(sha256sum "$layer" | cut -d' ' -f1); lsize=$(stat -c %s "$layer")
  cp "$layer" "$d/blobs/sha256/$ldig"
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$config" "$ldig" >"$work/config.json"
  cdig=$(sha256sum "$work/config.json" | cut -d' ' -f1); csize=$(stat -c %s "$work/config.json")
  mv "$work/config.json" "$d/blobs/sha256/$cdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cdig" "$csize" "$ldig" "$lsize" >"$work/manifest.json"
  mdig=$(sha256sum "$work/manifest.json" | cut -d' ' -f1); msize=$(stat -c %s "$work/manifest.json")
  mv "$work/manifest.json" "$d/blobs/sha256/$mdig"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s:%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$mdig" "$msize" "$name" "$tag" "$tag" >"$d/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  tar -C "$d" -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
  rm -rf "$d"
}

# A root file system holding one static binary (and what it needs to run
# as a non-root user).
binary_layer() {
  local bin=$1 dest=$2 out=$3
  local r=$work/root
  rm -rf "$r"; mkdir -p "$r/etc" "$r/tmp" "$r$(dirname "$dest")"
  chmod 1777 "$r/tmp"
  cp "$bin" "$r$dest"
  printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:10001:10001::/:/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnonroot:x:10001:\n' >"$r/etc/group"
  tar -C "$r" --numeric-owner -cf "$out" .
  rm -rf "$r"
}

image_pause() {
  local out=$IMAGES/pause-1.tar
  [ -f "$out" ] && return
  log "image pause"
  cat >"$work/pause.c" <<'EOF'
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
static void bye(int s) { (void)s; exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGINT, bye); signal(SIGTERM, bye); signal(SIGCHLD, reap);
  for (;;) pause();
}
EOF
  sed -i '1i #include <sys/wait.h>' "$work/pause.c"
  gcc -static -O2 -o "$work/pause" "$work/pause.c"
  strip "$work/pause"
  binary_layer "$work/pause" /pause "$work/layer.tar"
  oci dbaasd.local/pause 1 "$work/layer.tar" '{"Entrypoint":["/pause"],"User":"65535:65535"}' "$out"
}

image_postgresql() {
  local out=$IMAGES/$PG_IMAGE_ID.tar
  [ -f "$out" ] && return
  local rootfs=$K8S_CACHE/rootfs/$PG_ROOTFS_ID
  if [ ! -f "$rootfs.debootstrap" ]; then
    log "debootstrap $DEBIAN_SUITE with PostgreSQL 15 (a few minutes)"
    rm -rf "$rootfs"; mkdir -p "$rootfs"
    $NICE debootstrap --variant=minbase \
      --include=postgresql-15,pgbouncer,barman-cli-cloud,python3-boto3,ca-certificates \
      "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$K8S_CACHE/rootfs/$PG_ROOTFS_ID.log" 2>&1 ||
      die "debootstrap failed: see $K8S_CACHE/rootfs/$PG_ROOTFS_ID.log"
    touch "$rootfs.debootstrap"
  fi
  if [ ! -f "$rootfs.done" ]; then
    # CNPG runs PostgreSQL as uid/gid 26 and PgBouncer as 998/996 and
    # looks both up by name (Debian gives gid 26 to tape).
    chroot "$rootfs" bash -ec '
      if [ "$(getent group 26 | cut -d: -f1)" = tape ]; then groupmod -g 2026 tape; fi
      [ "$(id -g postgres)" = 26 ] || groupmod -g 26 postgres
      [ "$(id -u postgres)" = 26 ] || usermod -u 26 -g 26 postgres
      getent group pgbouncer >/dev/null || groupadd -g 996 pgbouncer
      getent passwd pgbouncer >/dev/null || useradd -u 998 -g 996 -M -d /controller pgbouncer
      rm -rf /var/lib/postgresql/15/main /etc/postgresql/15/main
      mkdir -p /var/lib/postgresql/data /controller /run/postgresql
      chown -R 26:26 /var/lib/postgresql /run/postgresql /var/log/postgresql
      chmod 1777 /run/postgresql
      apt-get clean
      rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* /var/cache/debconf/*-old
      find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name "en*" -exec rm -rf {} +
    '
    touch "$rootfs.done"
  fi
  # CNPG's pooler runs /usr/bin/pgbouncer; Debian installs it in /usr/sbin.
  ln -sfn ../sbin/pgbouncer "$rootfs/usr/bin/pgbouncer"
  log "image postgresql"
  tar -C "$rootfs" --numeric-owner --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -cf "$work/layer.tar" .
  oci dbaasd.local/postgresql 15 "$work/layer.tar" \
    '{"Env":["PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8"],"User":"26:26","WorkingDir":"/"}' "$out"
}

image_cnpg() {
  local v=${CNPG_VERSION#v} out=$IMAGES/$CNPG_IMAGE_ID.tar
  [ -f "$out" ] && return
  log "image cnpg"
  # As the operator's own image: the binary as operator/manager_<arch>
  # (the operator finds the instance manager it copies into the pods by
  # that name, relative to /) and /manager a link to it.
  local r=$work/root
  rm -rf "$r"; mkdir -p "$r/etc" "$r/tmp" "$r/operator"
  chmod 1777 "$r/tmp"
  cp "$CNPG_BIN/manager" "$r/operator/manager_amd64"
  ln -s operator/manager_amd64 "$r/manager"
  printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:10001:10001::/:/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnonroot:x:10001:\n' >"$r/etc/group"
  tar -C "$r" --numeric-owner -cf "$work/layer.tar" .
  rm -rf "$r"
  oci dbaasd.local/cnpg "$v" "$work/layer.tar" '{"Entrypoint":["/manager"],"User":"10001:10001","WorkingDir":"/"}' "$out"
}

image_coredns() {
  local v=${COREDNS_VERSION#v} out=$IMAGES/coredns-$COREDNS_VERSION.tar
  [ -f "$out" ] && return
  log "image coredns"
  binary_layer "$COREDNS_BIN/coredns" /coredns "$work/layer.tar"
  oci dbaasd.local/coredns "$v" "$work/layer.tar" '{"Entrypoint":["/coredns"],"User":"10001:10001"}' "$out"
}

image_mariadb() {
  local out=$IMAGES/$MARIADB_IMAGE_ID.tar
  [ -f "$out" ] && return
  local rootfs=$K8S_CACHE/rootfs/$MARIADB_ROOTFS_ID
  if [ ! -f "$rootfs.debootstrap" ]; then
    log "debootstrap $DEBIAN_SUITE with MariaDB 10.11 (a few minutes)"
    rm -rf "$rootfs"; mkdir -p "$rootfs"
    $NICE debootstrap --variant=minbase \
      --include=mariadb-server,mariadb-client,mariadb-backup,galera-4,ca-certificates,pwgen,gosu \
      "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$K8S_CACHE/rootfs/$MARIADB_ROOTFS_ID.log" 2>&1 ||
      die "debootstrap failed: see $K8S_CACHE/rootfs/$MARIADB_ROOTFS_ID.log"
    touch "$rootfs.debootstrap"
  fi
  if [ ! -f "$rootfs.done" ]; then
    # mariadb-operator runs MariaDB as uid/gid 999, the official image's
    # mysql; the server listens on every address of the pod (Debian's
    # default is localhost only).
    chroot "$rootfs" bash -ec '
      if getent group 999 >/dev/null && [ "$(getent group 999 | cut -d: -f1)" != mysql ]; then groupmod -g 2999 "$(getent group 999 | cut -d: -f1)"; fi
      if getent passwd 999 >/dev/null && [ "$(getent passwd 999 | cut -d: -f1)" != mysql ]; then usermod -u 2999 "$(getent passwd 999 | cut -d: -f1)"; fi
      [ "$(id -g mysql)" = 999 ] || groupmod -g 999 mysql
      [ "$(id -u mysql)" = 999 ] || usermod -u 999 -g 999 mysql
      sed -i -e "s/^bind-address/#bind-address/" /etc/mysql/mariadb.conf.d/50-server.cnf
      rm -rf /var/lib/mysql; mkdir -p /var/lib/mysql /run/mysqld /docker-entrypoint-initdb.d
      chown -R 999:999 /var/lib/mysql /run/mysqld /etc/mysql/conf.d /etc/mysql/mariadb.conf.d
      chmod 1777 /run/mysqld
      apt-get clean
      rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* /var/cache/debconf/*-old
      find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name "en*" -exec rm -rf {} +
    '
    touch "$rootfs.done"
  fi
  install -m 0755 "$MDBOP_BIN/docker-entrypoint-10.11.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
  log "image mariadb"
  tar -C "$rootfs" --numeric-owner --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -cf "$work/layer.tar" .
  oci dbaasd.local/mariadb 10.11 "$work/layer.tar" \
    '{"Entrypoint":["docker-entrypoint.sh"],"Cmd":["mariadbd"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8","MARIADB_MAJOR=10.11"],"User":"999:999","WorkingDir":"/"}' "$out"
}

image_mariadb_operator() {
  local v=${MARIADB_OPERATOR_VERSION#v} out=$IMAGES/$MDBOP_IMAGE_ID.tar
  [ -f "$out" ] && return
  log "image mariadb-operator"
  binary_layer "$MDBOP_BIN/mariadb-operator" /bin/mariadb-operator "$work/layer.tar"
  oci dbaasd.local/mariadb-operator "$v" "$work/layer.tar" '{"Entrypoint":["/bin/mariadb-operator"],"User":"65532:65532","WorkingDir":"/"}' "$out"
}

# The Redis image: Debian's Redis and Sentinel, with the dbaasd of this
# repository for the firewall forwarder. The root file system is cached;
# the image is made again whenever dbaasd changes, and its name is written
# to $IMAGES/redis.current for up.sh.
image_redis() {
  local rootfs=$K8S_CACHE/rootfs/$REDIS_ROOTFS_ID base=$IMAGES/rootfs-$REDIS_ROOTFS_ID.tar
  if [ ! -f "$base" ]; then
    if [ ! -f "$rootfs.debootstrap" ]; then
      log "debootstrap $DEBIAN_SUITE with Redis (a few minutes)"
      rm -rf "$rootfs"; mkdir -p "$rootfs"
      $NICE debootstrap --variant=minbase --include=redis-server,redis-sentinel,redis-tools \
        "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$K8S_CACHE/rootfs/$REDIS_ROOTFS_ID.log" 2>&1 ||
        die "debootstrap failed: see $K8S_CACHE/rootfs/$REDIS_ROOTFS_ID.log"
      touch "$rootfs.debootstrap"
    fi
    # The pods run every container as uid/gid 999 (redis).
    chroot "$rootfs" bash -ec '
      if getent group 999 >/dev/null && [ "$(getent group 999 | cut -d: -f1)" != redis ]; then groupmod -g 2999 "$(getent group 999 | cut -d: -f1)"; fi
      if getent passwd 999 >/dev/null && [ "$(getent passwd 999 | cut -d: -f1)" != redis ]; then usermod -u 2999 "$(getent passwd 999 | cut -d: -f1)"; fi
      [ "$(id -g redis)" = 999 ] || groupmod -g 999 redis
      [ "$(id -u redis)" = 999 ] || usermod -u 999 -g 999 redis
      rm -rf /var/lib/redis/* /etc/redis/*.conf
      apt-get clean
      rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* /var/cache/debconf/*-old
      find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name "en*" -exec rm -rf {} +
    '
    tar -C "$rootfs" --numeric-owner --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -cf "$base.tmp" .
    mv "$base.tmp" "$base"
  fi
  log "building dbaasd for the Redis image"
  (cd "$here/../.." && CGO_ENABLED=0 GOFLAGS=-trimpath $NICE go build -ldflags "-s -w" -o "$work/dbaasd" ./cmd/dbaasd)
  local sum; sum=$(sha256sum "$work/dbaasd" | cut -c1-12)
  local out=$IMAGES/redis-7.0-$sum.tar
  if [ ! -f "$out" ]; then
    log "image redis ($sum)"
    rm -f "$IMAGES"/redis-7.0-*.tar
    cp "$base" "$work/layer.tar"
    mkdir -p "$work/add/usr/local/bin"
    install -m 0755 "$work/dbaasd" "$work/add/usr/local/bin/dbaasd"
    tar -C "$work/add" --numeric-owner --owner=0 --group=0 -rf "$work/layer.tar" ./usr/local/bin/dbaasd
    oci dbaasd.local/redis "7.0-$sum" "$work/layer.tar" \
      '{"Cmd":["redis-server"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8"],"User":"999:999","WorkingDir":"/"}' "$out"
  fi
  printf 'redis-7.0-%s dbaasd.local/redis:{version}-%s\n' "$sum" "$sum" >"$IMAGES/redis.current"
}

what=${1:-all}
case $what in
  pause) image_pause ;;
  postgresql) image_postgresql ;;
  cnpg) image_cnpg ;;
  coredns) image_coredns ;;
  mariadb) image_mariadb ;;
  mariadb-operator) image_mariadb_operator ;;
  redis) image_redis ;;
  all) image_pause; image_postgresql; image_cnpg; image_coredns; image_mariadb; image_mariadb_operator; image_redis ;;
  *) die "unknown image $what" ;;
esac
