#!/usr/bin/env bash
# Benchmarks, release build: figures written to target/bench-results/*.json.
#   tui_render    frame and key times at 200x50 with 30, 1,000 and 10,000 guests
#   ipam_alloc    durable allocations/s, one process and four on one database
#   cluster_cost  the real console on the simulator (3x30 and 20x10000):
#                 requests/min idle, CPU, RSS, time to first frame and guests,
#                 `ip next` latency
# Knobs: PROXDECK_BENCH_SIZES (3x30,20x10000), PROXDECK_BENCH_IDLE_SECS (60),
# PROXDECK_BENCH_SOAK_SECS (0; 1800 for the 30-minute memory soak).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null; then
    apt-get install -y tmux
fi
cargo bench --bench tui_render --bench ipam_alloc --bench cluster_cost
ls -l target/bench-results/
