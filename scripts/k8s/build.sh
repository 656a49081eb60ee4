#!/usr/bin/env bash
# Builds the test bed's binaries from Go modules, each into the cache under a
# directory named by its version, and skips what is already there:
#   kubernetes  etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
#               kubelet, kube-proxy, kubectl (k8s.io/kubernetes)
#   cnpg        the CloudNativePG operator (manager) and its kubectl plugin
#   s3          versitygw, an S3-compatible gateway over a directory
#   coredns     cluster DNS (the CNPG instances and poolers find each other by
#               service name)
#   mariadb-operator
#               the mariadb-operator (one binary: controller, agent, init),
#               its CRDs, its RBAC rendered from its chart, and the MariaDB
#               image entrypoint it expects
# Usage: build.sh [kubernetes|cnpg|s3|coredns|mariadb-operator|all]   (default all)
set -euo pipefail
. "$(dirname "$0")/env.sh"

export GOFLAGS=-trimpath GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$K8S_CACHE/src"

# modfile DIR MODULE VERSION: a scratch module that requires MODULE@VERSION.
scratch() {
  local dir=$1
  mkdir -p "$dir"
  cd "$dir"
  [ -f go.mod ] || go mod init dbaasd.local/k8sbuild >/dev/null 2>&1
}

build_kubernetes() {
  local want=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
  local missing=0
  for b in "${want[@]}"; do [ -x "$K8S_BIN/$b" ] || missing=1; done
  [ $missing -eq 0 ] && { log "kubernetes $K8S_VERSION cached in $K8S_BIN"; return; }
  local dir=$K8S_CACHE/src/k8s-$K8S_VERSION
  scratch "$dir"
  # k8s.io/kubernetes points its staging modules at ./staging; a module that
  # requires it pins each of them to the matching release instead.
  local staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
    cloud-provider cluster-bootstrap code-generator component-base component-helpers
    controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
    endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
    kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
    sample-apiserver sample-cli-plugin sample-controller)
  if ! grep -q "k8s.io/kubernetes $K8S_VERSION" go.mod; then
    local args=()
    for s in "${staging[@]}"; do args+=(-replace "k8s.io/$s=k8s.io/$s@$K8S_STAGING_VERSION"); done
    go mod edit "${args[@]}" -require "k8s.io/kubernetes@$K8S_VERSION" -require "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    mkdir -p etcd
    cat >etcd/main.go <<'EOF'
// Command etcd is etcd's own main, built from its module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
    cat >tools.go <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
    log "resolving k8s.io/kubernetes $K8S_VERSION modules"
    $NICE go mod tidy -e >/dev/null
  fi
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  mkdir -p "$K8S_BIN.tmp"
  [ -x "$K8S_BIN.tmp/etcd" ] || { log "building etcd $ETCD_VERSION"; $NICE go build -ldflags "-s -w" -o "$K8S_BIN.tmp/etcd" ./etcd; }
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    [ -x "$K8S_BIN.tmp/$b" ] && continue
    log "building $b $K8S_VERSION"
    $NICE go build -ldflags "$ld" -o "$K8S_BIN.tmp/$b" "k8s.io/kubernetes/cmd/$b"
  done
  rm -rf "$K8S_BIN"
  mv "$K8S_BIN.tmp" "$K8S_BIN"
  log "kubernetes $K8S_VERSION built in $K8S_BIN"
}

build_cnpg() {
  [ -x "$CNPG_BIN/manager" ] && { log "cnpg $CNPG_VERSION cached in $CNPG_BIN"; return; }
  local dir=$K8S_CACHE/src/cnpg-$CNPG_VERSION
  scratch "$dir"
  if ! grep -q "cloudnative-pg $CNPG_VERSION" go.mod; then
    go mod edit -require "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION"
    cat >tools.go <<'EOF'
//go:build tools

package tools

import _ "github.com/cloudnative-pg/cloudnative-pg/cmd/manager"
EOF
    log "resolving cloudnative-pg $CNPG_VERSION"
    $NICE go mod tidy -e >/dev/null
  fi
  mkdir -p "$CNPG_BIN.tmp"
  local v=${CNPG_VERSION#v}
  log "building cloudnative-pg manager $CNPG_VERSION"
  $NICE go build -ldflags "-s -w -X github.com/cloudnative-pg/cloudnative-pg/pkg/versions.buildVersion=$v" \
    -o "$CNPG_BIN.tmp/manager" github.com/cloudnative-pg/cloudnative-pg/cmd/manager
  # The operator's manifests (CRDs, RBAC) come from the same module.
  local src
  src=$(go list -m -f '{{.Dir}}' github.com/cloudnative-pg/cloudnative-pg)
  mkdir -p "$CNPG_BIN.tmp/crd"
  cp "$src"/config/crd/bases/*.yaml "$CNPG_BIN.tmp/crd/"
  cp "$src/releases/cnpg-$v.yaml" "$CNPG_BIN.tmp/cnpg.yaml"
  chmod -R u+w "$CNPG_BIN.tmp"
  rm -rf "$CNPG_BIN"
  mv "$CNPG_BIN.tmp" "$CNPG_BIN"
  log "cnpg $CNPG_VERSION built in $CNPG_BIN"
}

build_mariadb_operator() {
  [ -x "$MDBOP_BIN/mariadb-operator" ] && { log "mariadb-operator $MARIADB_OPERATOR_VERSION cached in $MDBOP_BIN"; return; }
  local mod=github.com/mariadb-operator/mariadb-operator/v25
  local dir=$K8S_CACHE/src/mariadb-operator-$MARIADB_OPERATOR_VERSION
  scratch "$dir"
  if ! grep -q "mariadb-operator/v25 $MARIADB_OPERATOR_VERSION" go.mod; then
    go mod edit -require "$mod@$MARIADB_OPERATOR_VERSION"
    cat >tools.go <<'EOF'
//go:build tools

package tools

import _ "github.com/mariadb-operator/mariadb-operator/v25/cmd/controller"
EOF
    log "resolving mariadb-operator $MARIADB_OPERATOR_VERSION"
    $NICE go mod tidy -e >/dev/null
  fi
  mkdir -p "$MDBOP_BIN.tmp"
  log "building mariadb-operator $MARIADB_OPERATOR_VERSION"
  $NICE go build -ldflags "-s -w" -o "$MDBOP_BIN.tmp/mariadb-operator" "$mod/cmd/controller"
  local src
  src=$(go list -m -f '{{.Dir}}' "$mod")
  cp "$src/deploy/crds/crds.yaml" "$MDBOP_BIN.tmp/crds.yaml"
  # The chart's cluster role and bindings, rendered for a release named
  # mariadb-operator in the namespace mariadb-operator.
  sed -e '/^{{-/d' -e '/^{{ \$fullName/d' \
    -e 's/{{ \$fullName }}/mariadb-operator/g' \
    -e 's/{{ include "mariadb-operator.serviceAccountName" . }}/mariadb-operator/g' \
    -e 's/{{ .Release.Namespace }}/mariadb-operator/g' \
    "$src/deploy/charts/mariadb-operator/templates/operator/rbac.yaml" >"$MDBOP_BIN.tmp/rbac.yaml"
  if grep -q '{{' "$MDBOP_BIN.tmp/rbac.yaml"; then die "mariadb-operator rbac.yaml: a template is left"; fi
  cp "$src/pkg/embed/mariadb-docker/10.11/docker-entrypoint.sh" "$MDBOP_BIN.tmp/docker-entrypoint-10.11.sh"
  chmod -R u+w "$MDBOP_BIN.tmp"
  rm -rf "$MDBOP_BIN"
  mv "$MDBOP_BIN.tmp" "$MDBOP_BIN"
  log "mariadb-operator $MARIADB_OPERATOR_VERSION built in $MDBOP_BIN"
}

build_s3() {
  [ -x "$S3_BIN/versitygw" ] && { log "versitygw $VERSITYGW_VERSION cached in $S3_BIN"; return; }
  local dir=$K8S_CACHE/src/versitygw-$VERSITYGW_VERSION
  scratch "$dir"
  if ! grep -q "versitygw $VERSITYGW_VERSION" go.mod; then
    go mod edit -require "github.com/versity/versitygw@$VERSITYGW_VERSION"
    cat >tools.go <<'EOF'
//go:build tools

package tools

import _ "github.com/versity/versitygw/cmd/versitygw"
EOF
    log "resolving versitygw $VERSITYGW_VERSION"
    $NICE go mod tidy -e >/dev/null
  fi
  mkdir -p "$S3_BIN.tmp"
  log "building versitygw $VERSITYGW_VERSION"
  $NICE go build -ldflags "-s -w" -o "$S3_BIN.tmp/versitygw" github.com/versity/versitygw/cmd/versitygw
  rm -rf "$S3_BIN"
  mv "$S3_BIN.tmp" "$S3_BIN"
}

build_coredns() {
  [ -x "$COREDNS_BIN/coredns" ] && { log "coredns $COREDNS_VERSION cached in $COREDNS_BIN"; return; }
  local dir=$K8S_CACHE/src/coredns-$COREDNS_VERSION
  scratch "$dir"
  if ! grep -q "coredns $COREDNS_VERSION" go.mod; then
    go mod edit -require "github.com/coredns/coredns@$COREDNS_VERSION"
    # Only the plugins the test bed's Corefile uses: the default build
    # links every cloud provider's SDK.
    mkdir -p coredns
    cat >coredns/main.go <<'EOF2'
// Command coredns is CoreDNS with the plugins of cluster DNS only.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	dnsserver.Directives = []string{"errors", "health", "ready", "cache", "kubernetes"}
}

func main() { coremain.Run() }
EOF2
    log "resolving coredns $COREDNS_VERSION"
    $NICE go mod tidy -e >/dev/null
  fi
  mkdir -p "$COREDNS_BIN.tmp"
  log "building coredns $COREDNS_VERSION"
  $NICE go build -ldflags "-s -w" -o "$COREDNS_BIN.tmp/coredns" ./coredns
  rm -rf "$COREDNS_BIN"
  mv "$COREDNS_BIN.tmp" "$COREDNS_BIN"
}

what=${1:-all}
case $what in
  kubernetes) build_kubernetes ;;
  cnpg) build_cnpg ;;
  s3) build_s3 ;;
  coredns) build_coredns ;;
  mariadb-operator) build_mariadb_operator ;;
  all) build_kubernetes; build_cnpg; build_s3; build_coredns; build_mariadb_operator ;;
  *) die "unknown target $what" ;;
esac
