#!/usr/bin/env bash
# Starts a single-node Kubernetes test bed on this machine: etcd, the
# control plane, containerd and the kubelet, kube-proxy, all inside a
# network namespace of its own (the kubelet refuses a loopback node IP),
# reached from the host through a veth pair; then CoreDNS, a pool of
# local volumes, the CloudNativePG operator, and an S3-compatible server
# (versitygw) on the host for backups. Idempotent: a running test bed is
# left as it is. down.sh undoes everything.
#
# Writes $K8S_RUN/kubeconfig (cluster-admin), $K8S_RUN/dbaasd.kubeconfig
# (dbaasd's service account, deploy/kubernetes/rbac.yaml) and $K8S_RUN/env, which names
# what the tests and dbaasd need (kubeconfig, engine host, S3 endpoint and
# credentials files).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
[ "$(id -u)" -eq 0 ] || die "the test bed needs root"

if [ -f "$K8S_RUN/env" ] && "$K8S_BIN/kubectl" --kubeconfig "$K8S_RUN/kubeconfig" --request-timeout=5s get --raw=/readyz >/dev/null 2>&1; then
  log "test bed already running ($K8S_RUN)"
  exit 0
fi
# Whatever an earlier run left half-started goes first.
"$here/down.sh" >/dev/null 2>&1 || true

"$here/deps.sh"
"$here/build.sh" all
"$here/images.sh" all

t0=$(date +%s)
mkdir -p "$K8S_RUN"/{pki,logs,pids,cni,etcd,containerd,kubelet,pv}
chmod 0700 "$K8S_RUN/pki" # the cluster's keys: root's alone
# The pods' volumes: a volume is writable by any uid (the pods' users), so
# its parent is root's alone; a pod reaches its volume through its mount,
# never through this path.
chmod 0700 "$K8S_RUN/pv"
date +%s >"$K8S_RUN/started"
NS="nsenter --net=/run/netns/$K8S_NETNS"
B=$K8S_BIN
KUBECTL="$B/kubectl --kubeconfig $K8S_RUN/kubeconfig"

# start NAME CMD...: runs a component in the namespace, in the background.
start() {
  local name=$1; shift
  setsid $NS "$@" >"$K8S_RUN/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$K8S_RUN/pids/$name"
}
wait_for() { # wait_for SECONDS WHAT CMD...
  local n=$1 what=$2; shift 2
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  die "$what not ready after ${n}s (logs in $K8S_RUN/logs)"
}

# Kernel settings the kubelet changes, restored by down.sh.
for s in vm.overcommit_memory kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes; do
  echo "$s=$(sysctl -n "$s")"
done >"$K8S_RUN/sysctl.saved"
ls /run/netns 2>/dev/null | sort >"$K8S_RUN/netns.before" || true

# --- network ---------------------------------------------------------------
ip netns add "$K8S_NETNS"
$NS ip link set lo up
$NS ip addr add "$K8S_NODE_IP/32" dev lo
ip link add "$K8S_VETH" type veth peer name eth0 netns "$K8S_NETNS"
ip addr add "$K8S_HOST_IP/30" dev "$K8S_VETH"
ip link set "$K8S_VETH" up
$NS ip addr add "$K8S_NS_IP/30" dev eth0
$NS ip link set eth0 up
$NS ip route add blackhole default
ip addr add "$K8S_OUTSIDER_IP/32" dev "$K8S_VETH"
$NS ip route add "$K8S_OUTSIDER_IP/32" dev eth0
# Connections the node itself opens to a Service (the API server calling
# the operator's webhooks) need a route for kube-proxy's DNAT to rewrite:
# the blackhole default would fail them before (EINVAL).
$NS ip route add "$K8S_SERVICE_CIDR" dev lo src "$K8S_NODE_IP"
$NS sysctl -qw net.ipv4.ip_forward=1
# The host reaches the node, pods and services through the veth.
for net in "$K8S_NODE_IP/32" "$K8S_POD_CIDR" "$K8S_SERVICE_CIDR"; do
  ip route add "$net" via "$K8S_NS_IP" dev "$K8S_VETH"
done

# --- certificates ------------------------------------------------------------
pki=$K8S_RUN/pki
cert() { # cert NAME CN ORG SANS
  local name=$1 cn=$2 org=$3 sans=$4 subj="/CN=$2"
  [ -n "$org" ] && subj="/O=$org/CN=$cn"
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  local ext="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth"
  [ -n "$sans" ] && ext="$ext\nsubjectAltName=$sans"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 3650 \
    -extfile <(printf "$ext") -out "$pki/$name.crt" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -subj "/CN=dbaasd-k8s-ca" -days 3650 -out "$pki/ca.crt" 2>/dev/null
cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:$K8S_NODE_IP,IP:$K8S_API_SERVICE_IP,IP:$K8S_NS_IP,IP:127.0.0.1"
cert admin kubernetes-admin system:masters ""
cert apiserver-kubelet kube-apiserver-kubelet-client system:masters ""
cert controller-manager system:kube-controller-manager "" ""
cert scheduler system:kube-scheduler "" ""
cert proxy system:kube-proxy "" ""
cert node system:node:node1 system:nodes ""
cert kubelet-serving node1 "" "DNS:node1,IP:$K8S_NODE_IP"
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null

# kubeconfig FILE USER SERVER [TOKEN]: USER's certificate in $pki, or TOKEN;
# the file holds a credential, so it is root's alone (0600).
kubeconfig() {
  local cred
  if [ -n "${4:-}" ]; then
    cred="token: $4"
  else
    cred="client-certificate-data: $(base64 -w0 "$pki/$2.crt")
    client-key-data: $(base64 -w0 "$pki/$2.key")"
  fi
  install -m 0600 /dev/null "$1"
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: dbaasd-k8s
  cluster:
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
    server: $3
users:
- name: $2
  user:
    $cred
contexts:
- name: dbaasd-k8s
  context: {cluster: dbaasd-k8s, user: $2}
current-context: dbaasd-k8s
EOF
}
server=https://$K8S_NODE_IP:6443
kubeconfig "$K8S_RUN/kubeconfig" admin "$server"
for c in controller-manager scheduler proxy node; do kubeconfig "$K8S_RUN/$c.kubeconfig" "$c" "$server"; done

# --- etcd and the control plane ------------------------------------------------
start etcd "$B/etcd" --name node1 --data-dir "$K8S_RUN/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster node1=http://127.0.0.1:2380 --quota-backend-bytes 1073741824 --log-level warn
start kube-apiserver "$B/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
  --bind-address 0.0.0.0 --advertise-address "$K8S_NODE_IP" --secure-port 6443 \
  --service-cluster-ip-range "$K8S_SERVICE_CIDR" --service-node-port-range 30000-32767 \
  --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --kubelet-client-certificate "$pki/apiserver-kubelet.crt" --kubelet-client-key "$pki/apiserver-kubelet.key" \
  --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction --allow-privileged=true \
  --profiling=false --v=1
wait_for 120 kube-apiserver $KUBECTL get --raw=/readyz
# The controller-manager exits unless it can read the authentication config.
wait_for 60 "bootstrap RBAC" $KUBECTL -n kube-system get rolebinding system::extension-apiserver-authentication-reader
start kube-controller-manager "$B/kube-controller-manager" --kubeconfig "$K8S_RUN/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$K8S_RUN/controller-manager.kubeconfig" --authorization-kubeconfig "$K8S_RUN/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --service-cluster-ip-range "$K8S_SERVICE_CIDR" --v=1
start kube-scheduler "$B/kube-scheduler" --kubeconfig "$K8S_RUN/scheduler.kubeconfig" \
  --authentication-kubeconfig "$K8S_RUN/scheduler.kubeconfig" --authorization-kubeconfig "$K8S_RUN/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --v=1

# --- containerd, CNI, kubelet, kube-proxy ---------------------------------------
cat >"$K8S_RUN/cni/10-bridge.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "dbaasd-k8s", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$K8S_POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$K8S_RUN/cni/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
EOF
cat >"$K8S_RUN/containerd/config.toml" <<EOF
version = 2
root = "$K8S_RUN/containerd/root"
state = "$K8S_RUN/containerd/state"
[grpc]
  address = "$K8S_RUN/containerd/containerd.sock"
[ttrpc]
  address = "$K8S_RUN/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "dbaasd.local/pause:1"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_RUN/cni"
EOF
start containerd containerd --config "$K8S_RUN/containerd/config.toml"
CTR="ctr --address $K8S_RUN/containerd/containerd.sock -n k8s.io"
wait_for 30 containerd $CTR version
read -r REDIS_IMAGE_ID REDIS_IMAGE <"$IMAGES/redis.current"
for img in pause-1 $PG_IMAGE_ID $CNPG_IMAGE_ID coredns-$COREDNS_VERSION $MARIADB_IMAGE_ID $MDBOP_IMAGE_ID $REDIS_IMAGE_ID; do
  $CTR images import "$IMAGES/$img.tar" >/dev/null
done
log "images imported: $($CTR images ls -q | grep -c dbaasd.local)"

printf 'nameserver 127.0.0.1\n' >"$K8S_RUN/resolv.conf"
cat >"$K8S_RUN/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $K8S_NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$K8S_RUN/containerd/containerd.sock
clusterDomain: cluster.local
clusterDNS: [$K8S_DNS_IP]
resolvConf: $K8S_RUN/resolv.conf
failSwapOn: false
failCgroupV1: false
makeIPTablesUtilChains: true
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
maxPods: 60
EOF
start kubelet "$B/kubelet" --config "$K8S_RUN/kubelet.yaml" --kubeconfig "$K8S_RUN/node.kubeconfig" \
  --root-dir "$K8S_RUN/kubelet" --hostname-override node1 --node-ip "$K8S_NODE_IP" --v=1
cat >"$K8S_RUN/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $K8S_POD_CIDR
hostnameOverride: node1
bindAddress: $K8S_NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clientConnection: {kubeconfig: $K8S_RUN/proxy.kubeconfig}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
start kube-proxy "$B/kube-proxy" --config "$K8S_RUN/kube-proxy.yaml" --v=1
wait_for 120 "node Ready" sh -c "$KUBECTL get node node1 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
log "node Ready $(($(date +%s) - t0))s after start"

# --- in-cluster services ---------------------------------------------------------
$KUBECTL apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:5353 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
        }
        cache 5
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      containers:
      - name: coredns
        image: dbaasd.local/coredns:${COREDNS_VERSION#v}
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        volumeMounts: [{name: config, mountPath: /etc/coredns}]
        ports: [{containerPort: 5353, protocol: UDP, name: dns}, {containerPort: 5353, protocol: TCP, name: dns-tcp}]
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 2}
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  clusterIP: $K8S_DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, targetPort: 5353, protocol: UDP}
  - {name: dns-tcp, port: 53, targetPort: 5353, protocol: TCP}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
EOF
# A pool of volumes on this machine, scrubbed and reused when released
# (by scrub-volumes.sh: Retain here, the scrubber offers them again).
pvs=${K8S_PV_COUNT:-40}
for i in $(seq 1 "$pvs"); do
  d=$K8S_RUN/pv/pv$i
  mkdir -p "$d"; chmod 0777 "$d"
  cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: local-pv$i}
spec:
  capacity: {storage: 100Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local
  hostPath: {path: $d, type: Directory}
EOF
done | $KUBECTL apply -f - >/dev/null
setsid "$here/scrub-volumes.sh" >"$K8S_RUN/logs/scrub-volumes.log" 2>&1 </dev/null &
echo $! >"$K8S_RUN/pids/scrub-volumes"

# The operator, from its own release manifest, with the image made here.
sed -e "s#ghcr.io/cloudnative-pg/cloudnative-pg:[0-9.]*#dbaasd.local/cnpg:${CNPG_VERSION#v}#" \
  -e 's#imagePullPolicy: Always#imagePullPolicy: Never#' "$CNPG_BIN/cnpg.yaml" |
  $KUBECTL apply --server-side --force-conflicts -f - >/dev/null
# mariadb-operator: its CRDs, the cluster role its chart grants, and its
# Deployment as the chart makes it (webhook off: nothing here needs it).
$KUBECTL apply --server-side --force-conflicts -f "$MDBOP_BIN/crds.yaml" >/dev/null
mdbop_image=dbaasd.local/mariadb-operator:${MARIADB_OPERATOR_VERSION#v}
{
  cat <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: mariadb-operator}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: mariadb-operator, namespace: mariadb-operator}
---
EOF
  sed -e 's/^kind: Role$/kind: Role/' "$MDBOP_BIN/rbac.yaml" | awk '
    /^kind: (Role|RoleBinding)$/ {ns=1} /^---/ {ns=0}
    {print} /^metadata:$/ && ns {print "  namespace: mariadb-operator"}'
  cat <<EOF
---
apiVersion: v1
kind: ConfigMap
metadata: {name: mariadb-operator-env, namespace: mariadb-operator}
data:
  MARIADB_OPERATOR_IMAGE: "$mdbop_image"
  MARIADB_GALERA_LIB_PATH: /usr/lib/galera/libgalera_smm.so
  MARIADB_DEFAULT_VERSION: "10.11"
  RELATED_IMAGE_MARIADB: dbaasd.local/mariadb:10.11
  RELATED_IMAGE_MARIADB_NAME: dbaasd.local/mariadb
  RELATED_IMAGE_MAXSCALE: ""
  RELATED_IMAGE_EXPORTER: ""
  RELATED_IMAGE_EXPORTER_MAXSCALE: ""
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: mariadb-operator, namespace: mariadb-operator}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: mariadb-operator}}
  template:
    metadata: {labels: {app.kubernetes.io/name: mariadb-operator}}
    spec:
      serviceAccountName: mariadb-operator
      terminationGracePeriodSeconds: 10
      containers:
      - name: controller
        image: $mdbop_image
        imagePullPolicy: Never
        args: [--metrics-addr=:8080, --log-level=INFO]
        envFrom: [{configMapRef: {name: mariadb-operator-env}}]
        env:
        - {name: CLUSTER_NAME, value: cluster.local}
        - name: MARIADB_OPERATOR_NAME
          valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}
        - name: MARIADB_OPERATOR_NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
        - {name: MARIADB_OPERATOR_SA_PATH, value: /var/run/secrets/kubernetes.io/serviceaccount/token}
EOF
} | $KUBECTL apply -f - >/dev/null
wait_for 180 "CoreDNS" $KUBECTL -n kube-system rollout status deploy/coredns --timeout=2s
wait_for 240 "CloudNativePG operator" $KUBECTL -n cnpg-system rollout status deploy/cnpg-controller-manager --timeout=2s
wait_for 240 "mariadb-operator" $KUBECTL -n mariadb-operator rollout status deploy/mariadb-operator --timeout=2s
log "cluster and operator ready $(($(date +%s) - t0))s after start"

# dbaasd's own access: the service account and cluster role of
# deploy/kubernetes/rbac.yaml, and a kubeconfig with that account's token,
# so the tests run dbaasd with exactly the role the README tells users to
# grant (the tests look at the cluster with the admin kubeconfig).
$KUBECTL apply -f "$here/../../deploy/kubernetes/rbac.yaml" >/dev/null
token=$($KUBECTL -n dbaasd-system create token dbaasd --duration=48h)
kubeconfig "$K8S_RUN/dbaasd.kubeconfig" dbaasd "$server" "$token"

# --- S3-compatible object storage, on the host ----------------------------------
s3dir=$K8S_RUN/s3
mkdir -p "$s3dir/data" "$s3dir/meta"
chmod 0700 "$s3dir" # the backups and the keys to them: root's alone
S3_ACCESS_KEY=dbaasd$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
S3_SECRET_KEY=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)
printf '%s' "$S3_ACCESS_KEY" >"$s3dir/access-key"; printf '%s' "$S3_SECRET_KEY" >"$s3dir/secret-key"
chmod 600 "$s3dir/access-key" "$s3dir/secret-key"
S3_PORT=${K8S_S3_PORT:-9000}
ROOT_ACCESS_KEY=$S3_ACCESS_KEY ROOT_SECRET_KEY=$S3_SECRET_KEY setsid "$S3_BIN/versitygw" \
  --port "$K8S_HOST_IP:$S3_PORT" posix --sidecar "$s3dir/meta" "$s3dir/data" \
  >"$K8S_RUN/logs/versitygw.log" 2>&1 </dev/null &
echo $! >"$K8S_RUN/pids/versitygw"
wait_for 30 "S3 server" bash -c "exec 3<>/dev/tcp/$K8S_HOST_IP/$S3_PORT"
S3_BUCKET=dbaasd
curl -fsS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
  -X PUT "http://$K8S_HOST_IP:$S3_PORT/$S3_BUCKET" >/dev/null || die "cannot create bucket $S3_BUCKET"

cat >"$K8S_RUN/env" <<EOF
DBAAS_K8S_KUBECONFIG=$K8S_RUN/dbaasd.kubeconfig
DBAAS_K8S_ADMIN_KUBECONFIG=$K8S_RUN/kubeconfig
DBAAS_K8S_ENGINE_HOST=$K8S_NS_IP
DBAAS_K8S_CLIENT_CIDR=$K8S_HOST_IP/32
DBAAS_K8S_OUTSIDER_IP=$K8S_OUTSIDER_IP
DBAAS_K8S_POD_CIDR=$K8S_POD_CIDR
DBAAS_K8S_POSTGRES_IMAGE=dbaasd.local/postgresql:{version}
DBAAS_K8S_MYSQL_IMAGE=dbaasd.local/mariadb:{version}
DBAAS_K8S_REDIS_IMAGE=$REDIS_IMAGE
DBAAS_K8S_IMAGE_PULL_POLICY=Never
DBAAS_K8S_STORAGE_CLASS=local
DBAAS_K8S_S3_ENDPOINT=http://$K8S_HOST_IP:$S3_PORT
DBAAS_K8S_S3_BUCKET=$S3_BUCKET
DBAAS_K8S_S3_REGION=us-east-1
DBAAS_K8S_S3_ACCESS_KEY_FILE=$s3dir/access-key
DBAAS_K8S_S3_SECRET_KEY_FILE=$s3dir/secret-key
DBAAS_K8S_KUBECTL=$B/kubectl
EOF
log "test bed up in $(($(date +%s) - t0))s; environment in $K8S_RUN/env"
