#!/usr/bin/env bash
# The system programs the tests drive as real peers: mosquitto (MQTT broker), socat (serial
# pseudo-terminals), openssl (test CA for TLS, the CLI's keys and CSRs), chromium and a CJK font
# (the technician console in a real browser), systemd-analyze (the unit is verified; Debian's
# systemd package). Installs the missing ones with apt-get when it can (root, or passwordless
# sudo); otherwise says exactly what to install.
set -euo pipefail

need=()
{ command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; } || need+=(mosquitto)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium)
# Chinese glyphs for the console's zh-CN screenshots
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "tests need: ${need[*]}  ->  sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
echo "installing test dependencies: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
