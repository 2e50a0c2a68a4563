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

# System tools the tests drive: tmux (the console's end-to-end tests).
need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "== running the tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-targets --no-fail-fast "$@"
else
  cargo test --all-targets --no-fail-fast "$@"
fi
