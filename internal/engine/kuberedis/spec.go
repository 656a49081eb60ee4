package kuberedis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
)

// Names of the objects in a datastore's namespace: the StatefulSet, its
// headless Service (the pods' hostnames) and the Secret of the pods'
// configuration all share setName.
const (
	setName = "redis"
	// labelApp marks the pods of the StatefulSet.
	labelApp = "app.kubernetes.io/name"
	// labelPodName and labelRevision are the StatefulSet controller's
	// labels of each pod: its name, and the revision it runs.
	labelPodName  = "statefulset.kubernetes.io/pod-name"
	labelRevision = "controller-revision-hash"
	// annotationConfig, on the pod template, is the hash of the Secret's
	// content the pods start with: a change of configuration, password or
	// firewall is a new revision, rolled out by dbaasd.
	annotationConfig = "dbaasd.io/config"
	// The containers of a pod.
	serverContainer    = "redis"
	sentinelContainer  = "sentinel"
	forwarderContainer = "forwarder"
	// redisUID is the uid and gid every container runs as (the image's
	// redis user).
	redisUID = 999
	// Sentinel's timing: a master that does not answer for 5 s is down.
	downAfterMs       = 5000
	failoverTimeoutMs = 20000
)

// Keys of the configuration Secret.
const (
	keyServer    = "redis.conf"
	keySentinel  = "sentinel.conf"
	keyForwarder = "forwarder.json"
	keyInternal  = "internal"
	keyStart     = "start-redis.sh"
	keySentinelS = "start-sentinel.sh"
)

// startServer is the server container's start: its configuration with its
// own hostname; it replicates from the master the other pods' sentinels
// name. A pod the sentinels still name the master (it was restarted
// before they noticed) waits, up to the failover timeout, for them to
// promote a replica rather than come back over the newer data of one;
// without an answer, the first pod is the master and the others its
// replicas (a new datastore, or one whose every pod restarts).
const startServer = `set -eu
self="$POD_NAME.$SET.$NAMESPACE.svc"
export REDISCLI_AUTH="$(cat /etc/dbaasd/internal)"
ask() {
  n=0
  while [ "$n" -lt "$NODES" ]; do
    peer="$SET-$n.$SET.$NAMESPACE.svc"
    if [ "$peer" != "$self" ]; then
      m=$(timeout 3 redis-cli --no-auth-warning --user dbaasd -h "$peer" -p 26379 SENTINEL get-master-addr-by-name dbaasd 2>/dev/null | head -n1 | tr -d '\r') || true
      case "$m" in "$SET"-*.svc) echo "$m"; return ;; esac
    fi
    n=$((n+1))
  done
}
master=$(ask)
if [ "$master" = "$self" ] && [ "$NODES" -gt 1 ]; then
  echo "the sentinels still name this pod the master: waiting for them to promote a replica"
  t=0
  while [ "$t" -lt 30 ] && [ "$master" = "$self" ]; do sleep 1; t=$((t+1)); master=$(ask); done
fi
if [ -z "$master" ] && [ "${POD_NAME##*-}" != 0 ]; then master="$SET-0.$SET.$NAMESPACE.svc"; fi
sed "s/@SELF@/$self/g" /etc/dbaasd/redis.conf >/run/redis/redis.conf
if [ -n "$master" ] && [ "$master" != "$self" ]; then
  echo "replicaof $master 6379" >>/run/redis/redis.conf
  echo "starting as a replica of $master"
fi
exec redis-server /run/redis/redis.conf
`

// startSentinel is the sentinel container's start: it watches the pod's
// server's master (the server itself when it is one), and joins only once
// its server is the master or has copied the master's dataset. So no
// sentinel can promote a replica that has nothing while a master that
// has the data is still starting (a new datastore, or a restore whose
// first pod is still fetching its snapshot).
const startSentinel = `set -eu
self="$POD_NAME.$SET.$NAMESPACE.svc"
export REDISCLI_AUTH="$(cat /etc/dbaasd/internal)"
until redis-cli --no-auth-warning --user dbaasd -s /run/redis/redis.sock PING 2>/dev/null | grep -q PONG; do sleep 1; done
while :; do
  info=$(redis-cli --no-auth-warning --user dbaasd -s /run/redis/redis.sock INFO replication 2>/dev/null | tr -d '\r') || true
  if echo "$info" | grep -q '^role:master'; then master=$self; break; fi
  if echo "$info" | grep -q '^master_link_status:up'; then master=$(echo "$info" | sed -n 's/^master_host://p'); break; fi
  sleep 1
done
sed -e "s/@SELF@/$self/g" -e "s/@MASTER@/$master/g" /etc/dbaasd/sentinel.conf >/run/redis/sentinel.conf
exec redis-sentinel /run/redis/sentinel.conf
`

// secretData is the content of the configuration Secret for c.
func (d *Driver) secretData(c *engine.Cluster) (map[string][]byte, error) {
	var allow []string
	if len(c.Firewall) > 0 {
		allow = append(append(append([]string{}, c.Firewall...), d.opts.AdminCIDRs...), d.opts.TrustedCIDRs...)
	}
	f, err := redis.Pod(c, allow, downAfterMs, failoverTimeoutMs)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		keyServer: f.Server, keySentinel: f.Sentinel, keyForwarder: f.Forwarder, keyInternal: f.Internal,
		keyStart: []byte(startServer), keySentinelS: []byte(startSentinel),
	}, nil
}

// dataHash is the hash of a Secret's content, the pods' annotationConfig.
func dataHash(data map[string][]byte) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		_, _ = fmt.Fprintf(h, "%s\x00%d\x00", k, len(data[k]))
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// podLabels are the labels of c's pods.
func podLabels(c *engine.Cluster) map[string]string {
	l := kube.Labels(c)
	l[labelApp] = setName
	return l
}

// applySet sets what dbaasd owns of the StatefulSet from c: the pods'
// number, image, resources and configuration's hash, and, when it is made,
// the volumes (a StatefulSet's claims cannot change; a bigger disk is
// refused before it is accepted, see ValidateDiskGrowth).
func (d *Driver) applySet(ss *appsv1.StatefulSet, c *engine.Cluster, version, hash string) error {
	size, err := resource.ParseQuantity(strconv.Itoa(c.Flavor.DiskGB) + "Gi")
	if err != nil {
		return fmt.Errorf("%w: disk %d GB: %w", engine.ErrInvalid, c.Flavor.DiskGB, err)
	}
	n := int32(len(c.Nodes))
	ss.Spec.Replicas = &n
	if ss.CreationTimestamp.IsZero() {
		ss.Spec.ServiceName = setName
		ss.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{labelApp: setName}}
		ss.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
		// dbaasd replaces the pods itself, replicas first, the master
		// after a switchover (see roll).
		ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		ss.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
			ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: podLabels(c)},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
			},
		}}
		if d.opts.StorageClass != "" {
			sc := d.opts.StorageClass
			ss.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = &sc
		}
	}
	ss.Spec.Template = d.podTemplate(c, version, hash, n)
	return nil
}

// podTemplate is the pods' spec: the server, its sentinel and the firewall
// forwarder, all as the redis user, sharing the run directory.
func (d *Driver) podTemplate(c *engine.Cluster, version, hash string, nodes int32) corev1.PodTemplateSpec {
	image := expand(d.opts.Image, version)
	uid := int64(redisUID)
	no := false
	mode := int32(0o440)
	env := []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "SET", Value: setName},
		{Name: "NODES", Value: strconv.Itoa(int(nodes))},
	}
	mounts := []corev1.VolumeMount{
		{Name: "config", MountPath: redis.PodConfigDir, ReadOnly: true},
		{Name: "run", MountPath: redis.PodRunDir},
	}
	small := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
	ping := &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c",
			`REDISCLI_AUTH="$(cat /etc/dbaasd/internal)" redis-cli --no-auth-warning --user dbaasd -s /run/redis/redis.sock PING | grep -q PONG`}}},
		PeriodSeconds: 2, TimeoutSeconds: 3, FailureThreshold: 3,
	}
	secure := &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no, RunAsNonRoot: func() *bool { t := true; return &t }(),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: podLabels(c), Annotations: map[string]string{annotationConfig: hash}},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken:  &no,
			EnableServiceLinks:            &no,
			TerminationGracePeriodSeconds: func() *int64 { s := int64(60); return &s }(),
			SecurityContext:               &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid},
			// A restore's snapshot reaches the first pod's volume before
			// Redis starts (see RunSeed); without a seed it does nothing.
			InitContainers: []corev1.Container{{
				Name: seedContainer, Image: image, ImagePullPolicy: corev1.PullPolicy(d.opts.ImagePullPolicy),
				Command: []string{"dbaasd", SeedSubcommand}, Env: append(env[:1:1], seedVars()...),
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: redis.PodDataDir}},
				Resources:    small, SecurityContext: secure,
			}},
			Containers: []corev1.Container{
				{
					Name: serverContainer, Image: image, ImagePullPolicy: corev1.PullPolicy(d.opts.ImagePullPolicy),
					Command: []string{"sh", redis.PodConfigDir + "/" + keyStart}, Env: env,
					VolumeMounts:   append(append([]corev1.VolumeMount{}, mounts...), corev1.VolumeMount{Name: "data", MountPath: redis.PodDataDir}),
					Resources:      kube.Resources(c.Flavor, d.opts.RequestFraction, 0),
					ReadinessProbe: ping, SecurityContext: secure,
				},
				{
					Name: sentinelContainer, Image: image, ImagePullPolicy: corev1.PullPolicy(d.opts.ImagePullPolicy),
					Command: []string{"sh", redis.PodConfigDir + "/" + keySentinelS}, Env: env,
					VolumeMounts: mounts, Resources: small, SecurityContext: secure,
				},
				{
					Name: forwarderContainer, Image: image, ImagePullPolicy: corev1.PullPolicy(d.opts.ImagePullPolicy),
					Command: []string{"sh", "-c", "cp " + redis.PodConfigDir + "/" + keyForwarder + " " + redis.PodRunDir + "/ && exec dbaasd " +
						redis.ForwarderSubcommand + " -config " + redis.PodRunDir + "/" + keyForwarder},
					VolumeMounts: mounts, Resources: small, SecurityContext: secure,
					Ports: []corev1.ContainerPort{
						{Name: "redis", ContainerPort: redis.PodServerPort, Protocol: corev1.ProtocolTCP},
						{Name: "sentinel", ContainerPort: redis.PodSentinelPort, Protocol: corev1.ProtocolTCP},
					},
				},
			},
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: setName, DefaultMode: &mode}}},
				{Name: "run", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
			},
		},
	}
}

// seedVars are the seed container's variables, from the restore's Secret
// when there is one.
func seedVars() []corev1.EnvVar {
	optional := true
	var out []corev1.EnvVar
	for _, v := range seedEnv {
		out = append(out, corev1.EnvVar{Name: v, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: seedSecret}, Key: v, Optional: &optional}}})
	}
	return out
}

// headless is the StatefulSet's governing Service: the pods' hostnames,
// published before they are ready (a starting pod asks the others'
// sentinels).
func headless(c *engine.Cluster, svc *corev1.Service) {
	svc.Labels = kube.Labels(c)
	svc.Spec.ClusterIP = corev1.ClusterIPNone
	svc.Spec.PublishNotReadyAddresses = true
	svc.Spec.Selector = map[string]string{labelApp: setName}
	svc.Spec.Ports = []corev1.ServicePort{
		{Name: "redis", Protocol: corev1.ProtocolTCP, Port: redis.PodServerPort, TargetPort: intstr.FromInt32(redis.PodServerPort)},
		{Name: "sentinel", Protocol: corev1.ProtocolTCP, Port: redis.PodSentinelPort, TargetPort: intstr.FromInt32(redis.PodSentinelPort)},
	}
}
