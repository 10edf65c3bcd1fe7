#!/usr/bin/env bash
# babelroom beside Node Socket.IO on small rooms (issue 27), with the peers kit's load generator, same
# machine, same run: 500 rooms x 2 subscribers at 200 msg/s (one-to-one conversations), 50 rooms x 20
# at 50 msg/s (sub-forums); with IDLE=1 also 10,000 idle joined connections on one node.
#
#   KIT=$(../shared/peers/install.sh)                         # once: the kit, copied somewhere writable
#   KIT=$KIT BR_BIN=$PWD/.venv/bin/babelroom benchmarks/compare_small_rooms.sh   # from the project root
#
# Prints one JSON line per run on stderr and the kit's summary table on stdout (server CPU per delivery
# = both nodes + Redis over the publish window). The kit's bench.sh waits for a quiet machine before
# each run (QUIET_WAIT_S): run nothing else meanwhile. About 3 minutes (6 with IDLE=1).
# PEERS (default socketio-node) names the peers run beside babelroom; DURATION (15) the seconds per run;
# SHAPES (';'-separated bench.sh settings) replaces the two shapes, e.g. for a short check of the setup:
#   SHAPES="ROOMS=5 SUBS=2 PUBLISHERS=5 RATE=5" DURATION=3 benchmarks/compare_small_rooms.sh
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KIT="${KIT:-$("$ROOT/../shared/peers/install.sh")}"
: "${BR_BIN:?set BR_BIN to the babelroom executable (e.g. \$PWD/.venv/bin/babelroom)}"
[ -x "$KIT/bench.sh" ] || { echo "no peers kit at $KIT (run ../shared/peers/install.sh)" >&2; exit 1; }
export BR_WORK="${BR_WORK:-${TMPDIR:-/tmp}/babelroom-bench-small}"
# rooms room-0..room-499 (the load generator's names) in a copy of the project's config
(cd "$ROOT" && ROOM_COUNT=500 bash "$KIT/babelroom/setup.sh") || exit 1
export NODE_CMD="$KIT/babelroom/node.sh" CUSTOM_NAME=babelroom RAW_CONFIG="$KIT/loadgen/examples/babelroom-v1.json"
export CUSTOM_LOADGEN_ENV="PUB_JOIN=1" TEXT_FILL=en QUIET_WAIT_S="${QUIET_WAIT_S:-60}" BR_BIN
# the load generator signs 500+ users in from one address: lift the per-address sign-in limit
export BABELROOM_LIMITS_SESSION_RATE=100000 BABELROOM_LIMITS_SESSION_BURST=100000
PEERS="${PEERS:-socketio-node}"; DURATION="${DURATION:-15}"
run() { local r; r="$("$KIT/bench.sh" "$@" 2>/dev/null | tail -1)"; echo "$r" >&2; echo "$r"; }
results=()
IFS=';' read -r -a shapes <<< "${SHAPES:-ROOMS=500 SUBS=2 PUBLISHERS=500 RATE=200;ROOMS=50 SUBS=20 PUBLISHERS=50 RATE=50}"
for shape in "${shapes[@]}"; do
  # shellcheck disable=SC2086  # the shape is several NAME=VALUE words
  results+=("$(run custom $shape DURATION="$DURATION")")
  for peer in $PEERS; do
    # shellcheck disable=SC2086
    results+=("$(run "$peer" $shape DURATION="$DURATION")")
  done
done
if [ "${IDLE:-0}" = 1 ]; then
  results+=("$(run custom MODE=idle CONNS=10000 ROOMS=50 IDLE_SETTLE=10)")
  for peer in $PEERS; do results+=("$(run "$peer" MODE=idle CONNS=10000 ROOMS=50 IDLE_SETTLE=10)"); done
fi
printf '%s\n' "${results[@]}" | python3 "$KIT/babelroom/table.py"
