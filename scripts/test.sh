#!/usr/bin/env bash
# Install what the tests need, then run every test.
# This is the one test command: the README gives it and .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Python test tools, pinned, in a venv under target/ (nothing system-wide).
VENV=target/venv
FAKEPVE_PIN='fakepve[crypto]==0.5.0'
PROXMOXER_PIN='proxmoxer==2.3.0'
REQUESTS_PIN='requests==2.34.2'
if ! "$VENV/bin/python" -c 'import fakepve, proxmoxer, requests, cryptography' 2>/dev/null; then
  echo "== installing fakepve and proxmoxer into $VENV"
  mkdir -p target
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$FAKEPVE_PIN" "$PROXMOXER_PIN" "$REQUESTS_PIN"
fi

# System tools the tests drive: tmux (the console's end-to-end tests), an
# OpenSSH server and the archive tools (host commands over real SSH).
need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v zstd >/dev/null 2>&1 || need_apt+=(zstd)
command -v lzop >/dev/null 2>&1 || need_apt+=(lzop)
# thin_check: LVM activates thin pools (the thin-LV tests) only with it.
[ -x /usr/sbin/thin_check ] || need_apt+=(thin-provisioning-tools)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Real LVM runs in a small QEMU guest (the host kernel has no device-mapper).
# It boots while the tests compile; the LVM tests fail, saying why, if it cannot.
if ! command -v vng >/dev/null 2>&1 || ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
  echo "== installing the LVM test guest (QEMU, Debian kernel, virtme-ng)"
  $SUDO scripts/lvm-vm.sh install
fi
echo "== booting the LVM test guest (log: target/lvm-vm-start.log)"
mkdir -p target
scripts/lvm-vm.sh start > target/lvm-vm-start.log 2>&1 &
vm_boot=$!
trap 'scripts/lvm-vm.sh stop >/dev/null 2>&1 || true' EXIT

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-targets --features test-hooks --no-run
else
  cargo test --all-targets --features test-hooks --no-run
fi
if ! wait "$vm_boot"; then
  echo "== the LVM test guest did not boot; its LVM tests will fail:"
  tail -n 20 target/lvm-vm-start.log || true
fi

echo "== running the tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-targets --features test-hooks --no-fail-fast "$@"
else
  cargo test --all-targets --features test-hooks --no-fail-fast "$@"
fi
