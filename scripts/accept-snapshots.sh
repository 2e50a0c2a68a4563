#!/usr/bin/env bash
# Accept the screen snapshots the last test run wrote as *.snap.new (after
# reading each diff: `git diff tests/snapshots` shows what changed).
# Same as `cargo insta accept`, without installing cargo-insta.
set -euo pipefail
cd "$(dirname "$0")/.."
for f in tests/snapshots/*.snap.new; do
  [ -e "$f" ] || continue
  grep -v '^assertion_line: ' "$f" > "${f%.new}"
  rm "$f"
  echo "accepted ${f%.new}"
done
