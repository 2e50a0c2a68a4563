#!/usr/bin/env bash
# Regenerate screenshots/*.png from the demo: the console's real screen
# buffers (examples/screenshots.rs) as SVG, rendered with DejaVu Sans Mono.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v rsvg-convert >/dev/null 2>&1 || ! fc-list | grep -qi "DejaVu Sans Mono"; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq librsvg2-bin fonts-dejavu-core >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
TZ=${TZ:-UTC} cargo run --quiet --release --example screenshots -- "$out"
mkdir -p screenshots
for svg in "$out"/*.svg; do
  name=$(basename "$svg" .svg)
  rsvg-convert --format png --output "screenshots/$name.png" "$svg"
  echo "screenshots/$name.png"
done
