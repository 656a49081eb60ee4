#!/usr/bin/env bash
# Scrubs the test bed's released volumes and offers them again; up.sh
# starts it, down.sh stops it. It stands in for Kubernetes' host-path
# recycler: when several volumes are recycled at once (a datastore with
# several claims deleted), that recycler confuses its pods (an error names
# another volume's pod) and can mark a volume recycled that was never
# scrubbed, so the next datastore would get another's data. Here a volume
# is offered again only after its directory is empty.
set -uo pipefail
. "$(dirname "$0")/env.sh"
KUBECTL="$K8S_BIN/kubectl --kubeconfig $K8S_RUN/kubeconfig"
while sleep 1; do
  $KUBECTL get pv -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{" "}{.spec.hostPath.path}{"\n"}{end}' 2>/dev/null |
    while read -r pv path; do
      # Only the bed's own volumes: a released volume has no pod using it
      # (its claim went only once no pod used it).
      case $path in "$K8S_RUN"/pv/pv*) ;; *) continue ;; esac
      find "$path" -mindepth 1 -delete 2>/dev/null
      if [ -n "$(ls -A "$path" 2>/dev/null)" ]; then
        log "volume $pv: $path is not empty after the scrub; left released"
        continue
      fi
      chmod 0777 "$path"
      $KUBECTL patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null &&
        log "volume $pv scrubbed and available"
    done
done
