# Versions, paths and helpers shared by the test-bed scripts (sourced, not run).
# Everything built is cached outside the repository under $K8S_CACHE, keyed
# by version, so a second run on the same machine skips every build.

K8S_VERSION=${K8S_VERSION:-v1.34.4}
K8S_STAGING_VERSION=${K8S_STAGING_VERSION:-v0.34.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.4}
CNPG_VERSION=${CNPG_VERSION:-v1.27.1}
VERSITYGW_VERSION=${VERSITYGW_VERSION:-v1.8.0}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}
MARIADB_OPERATOR_VERSION=${MARIADB_OPERATOR_VERSION:-v25.10.2}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

K8S_CACHE=${K8S_CACHE:-/var/cache/dbaasd-k8s}
# Binaries of one set of versions.
K8S_BIN=$K8S_CACHE/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION
CNPG_BIN=$K8S_CACHE/bin/cnpg-$CNPG_VERSION
S3_BIN=$K8S_CACHE/bin/versitygw-$VERSITYGW_VERSION
COREDNS_BIN=$K8S_CACHE/bin/coredns-$COREDNS_VERSION
MDBOP_BIN=$K8S_CACHE/bin/mariadb-operator-$MARIADB_OPERATOR_VERSION
IMAGES=$K8S_CACHE/images
# Image archives, named by what they hold (a new suffix when their making changes).
CNPG_IMAGE_ID=cnpg-$CNPG_VERSION-2
PG_IMAGE_ID=postgresql-15-$DEBIAN_SUITE-3
# The PostgreSQL image's root file system (debootstrap), cached apart.
PG_ROOTFS_ID=postgresql-15-$DEBIAN_SUITE-2
MDBOP_IMAGE_ID=mariadb-operator-$MARIADB_OPERATOR_VERSION-1
MARIADB_IMAGE_ID=mariadb-10.11-$DEBIAN_SUITE-1
MARIADB_ROOTFS_ID=mariadb-10.11-$DEBIAN_SUITE-1
# The Redis image's root file system; the image itself adds the dbaasd
# binary and is named by it (images.sh writes $IMAGES/redis.current).
REDIS_ROOTFS_ID=redis-7.0-$DEBIAN_SUITE-1

# Where a running test bed lives (state, certificates, logs); removed by down.sh.
K8S_RUN=${K8S_RUN:-/var/lib/dbaasd-k8s}
K8S_NETNS=${K8S_NETNS:-dbaasd-k8s}
# The node's address, on the namespace's loopback; a /32 keeps every other
# address of the namespace unreachable (blackhole default route).
K8S_NODE_IP=${K8S_NODE_IP:-10.200.0.1}
K8S_POD_CIDR=${K8S_POD_CIDR:-10.201.0.0/24}
K8S_SERVICE_CIDR=${K8S_SERVICE_CIDR:-10.202.0.0/24}
K8S_API_SERVICE_IP=${K8S_API_SERVICE_IP:-10.202.0.1}
K8S_DNS_IP=${K8S_DNS_IP:-10.202.0.10}
# The host side of the veth pair that lets dbaasd (on the host) reach
# services in the cluster, and the namespace side.
K8S_HOST_IP=${K8S_HOST_IP:-10.203.0.1}
K8S_NS_IP=${K8S_NS_IP:-10.203.0.2}
K8S_VETH=${K8S_VETH:-dbk8s0}
# A second address of the host, which no datastore's firewall admits
# unless told to: the tests connect from it to see a firewall refuse them
# (dbaasd's own address, K8S_HOST_IP, is always admitted).
K8S_OUTSIDER_IP=${K8S_OUTSIDER_IP:-10.203.0.5}

NICE=${NICE:-nice -n 15}

log() { printf '%s k8s: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
