#!/usr/bin/env bash
# Stops the test bed up.sh started and undoes what it and its components
# changed on this machine: processes (by the pids it recorded, and the
# containers' shims by the containerd socket they name), mounts under
# $K8S_RUN, the pods' network namespaces, the cgroups the kubelet made,
# the kernel settings the kubelet changed, the veth pair and routes, and
# the network namespace with every iptables chain in it. The build cache
# stays. Safe to run when nothing is running.
set -uo pipefail
. "$(dirname "$0")/env.sh"
[ "$(id -u)" -eq 0 ] || die "the test bed needs root"

stop_pid() { # stop_pid PID: TERM, then KILL after a grace period
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
}

if [ -d "$K8S_RUN/pids" ]; then
  # The kubelet first, so it does not restart what goes next.
  for name in scrub-volumes kubelet kube-proxy kube-scheduler kube-controller-manager versitygw; do
    [ -f "$K8S_RUN/pids/$name" ] && stop_pid "$(cat "$K8S_RUN/pids/$name")"
  done
fi
# The containers: their shims name our containerd's socket/state dir.
for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $K8S_RUN/containerd/containerd.sock" 2>/dev/null); do
  # Everything in the shim's cgroup (the pod's processes) dies with it.
  for child in $(pgrep -P "$pid" 2>/dev/null); do kill -KILL "$child" 2>/dev/null; done
  kill -KILL "$pid" 2>/dev/null
done
if [ -d "$K8S_RUN/pids" ]; then
  for name in containerd kube-apiserver etcd; do
    [ -f "$K8S_RUN/pids/$name" ] && stop_pid "$(cat "$K8S_RUN/pids/$name")"
  done
fi
# Containers' processes that outlived their shims (found by their cgroup).
for cg in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods; do
  [ -d "$cg" ] || continue
  find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | while read -r pid; do
    kill -KILL "$pid" 2>/dev/null
  done
  break
done
sleep 0.5

# Mounts under the run dir (container root file systems, the kubelet's
# volumes and secrets), deepest first.
if [ -d "$K8S_RUN" ]; then
  for _ in 1 2 3; do
    mounts=$(awk -v r="$K8S_RUN" 'index($5, r) == 1 {print $5}' /proc/self/mountinfo | sort -r)
    [ -z "$mounts" ] && break
    for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  done
fi
# Pod network namespaces containerd made (cni-*), those not there before.
if [ -f "$K8S_RUN/netns.before" ]; then
  for ns in $(ls /run/netns 2>/dev/null | grep '^cni-' | sort | comm -13 "$K8S_RUN/netns.before" -); do
    umount "/run/netns/$ns" 2>/dev/null
    rm -f "/run/netns/$ns"
  done
fi
# The kubelet's cgroups (cgroup v1: one tree per controller), leaves first.
for ctl in /sys/fs/cgroup/*/; do
  [ -d "$ctl/kubepods" ] || continue
  find "$ctl/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null
done
for ctl in /sys/fs/cgroup/*/; do
  for d in "$ctl/kubepods" "$ctl/kubepods.slice"; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
done

# Kernel settings the kubelet changed.
if [ -f "$K8S_RUN/sysctl.saved" ]; then
  while IFS== read -r k v; do [ -n "$k" ] && sysctl -qw "$k=$v"; done <"$K8S_RUN/sysctl.saved"
fi

# Network: routes go with the veth; iptables chains, the bridge and the
# pods' veths go with the namespace.
ip link del "$K8S_VETH" 2>/dev/null
ip netns del "$K8S_NETNS" 2>/dev/null

# State (not the build cache). Leftover shim sockets of our containers.
if [ -d "$K8S_RUN" ]; then
  if awk -v r="$K8S_RUN" 'index($5, r) == 1 {f=1} END {exit !f}' /proc/self/mountinfo; then
    log "warning: mounts remain under $K8S_RUN; not removing it"
  else
    rm -rf "$K8S_RUN"
  fi
fi
log "test bed down"
exit 0
