# apt_install PACKAGE...: installs the Debian packages of the list that are
# not installed yet (sourced, not run). Package post-install scripts are
# kept from starting system-wide services (policy-rc.d): dbaasd and the
# test bed run their own servers on their own ports.
apt_install() {
  local need=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  [ ${#need[@]} -gt 0 ] || return 0
  local sudo="" policy=/usr/sbin/policy-rc.d restore_policy=0
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    restore_policy=1
  fi
  echo "installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq || true
  local status=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || status=$?
  if [ "$restore_policy" -eq 1 ]; then $sudo rm -f "$policy"; fi
  return $status
}
