"""Reactions under load: one room of --clients connections, the same traffic run twice, without
reactions and with --reaction-share of the messages drawing --reactions-each reactions (👍) each.

Prints, for both runs side by side: messages delivered per second and their latency (p50, p99),
and for the run with reactions the toggles made, the `reaction` frames each client received (the
nodes coalesce them: [limits] reaction_window, 0.25 s per message and emoji) against the frames one
per toggle and reader would have been. Everything runs on 127.0.0.1, started by the script (a
private redis-server and two `babelroom serve` nodes, or one memory or sqlite node), bounded in
clients and seconds (a short unreported warm-up run first); the clients run in --workers
processes (benchmarks/chat_load.py does the sending and receiving), which keep receiving --drain
seconds after the last send. On a small machine clients, nodes and Redis share the CPUs: the load
average before each run is printed.

    .venv/bin/python benchmarks/reactions.py                     # 500 clients, two redis nodes
    .venv/bin/python benchmarks/reactions.py --backend memory --clients 200 --duration 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chat_load import percentile, run_load, start_cluster, wait_until_idle
from tests.nodes import SECRET

MAX_CLIENTS = 1000
MAX_DURATION = 60.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--backend",
        choices=("redis", "memory", "sqlite"),
        default="redis",
        help="redis: two nodes on a private redis-server (default); memory or sqlite: one node",
    )
    parser.add_argument(
        "--clients", type=int, default=500, help=f"connections in the room (default 500, at most {MAX_CLIENTS})"
    )
    parser.add_argument("--senders", type=int, default=10, help="how many of them send (default 10)")
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per sender (default 1)")
    parser.add_argument(
        "--duration",
        type=float,
        default=10.0,
        help=f"seconds of sending per run (default 10, at most {MAX_DURATION:g})",
    )
    parser.add_argument(
        "--reaction-share", type=float, default=0.2, help="share of the messages that draw reactions (default 0.2)"
    )
    parser.add_argument("--reactions-each", type=int, default=5, help="reactions such a message draws (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="client processes (default 2)")
    parser.add_argument(
        "--drain",
        type=float,
        default=10.0,
        help="seconds the clients keep receiving after the last send (default 10, at most 30)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="seconds of an unreported run first (default 3; 0: none): the nodes' first "
        "connections and messages warm caches and pools, which the first run would pay for",
    )
    args = parser.parse_args(argv)
    if not 0 < args.clients <= MAX_CLIENTS or not 0 < args.senders <= args.clients:
        parser.error(f"--clients must be 1-{MAX_CLIENTS} and --senders 1-clients")
    if not 0 < args.duration <= MAX_DURATION or not 0 <= args.warmup <= 10 or not 0 < args.drain <= 30:
        parser.error(f"--duration must be in (0, {MAX_DURATION:g}], --warmup in [0, 10], --drain in (0, 30]")
    if args.rate <= 0 or args.workers <= 0:
        parser.error("--rate and --workers must be positive")
    if not 0 < args.reaction_share <= 1 or not 0 < args.reactions_each <= args.clients:
        parser.error("--reaction-share must be in (0, 1] and --reactions-each 1-clients")
    return args


def one_run(args: argparse.Namespace, urls: list[str], pids: list[int], share: float) -> dict[str, Any]:
    run = argparse.Namespace(**{**vars(args), "reaction_share": share, "secret": SECRET})
    loadavg = os.getloadavg()[0]
    load = run_load(run, urls, pids)
    wait_until_idle(urls)  # the run's connections are closed before the next one opens its own
    return {**load, "loadavg": loadavg}


def report(args: argparse.Namespace, plain: dict[str, Any], reacting: dict[str, Any]) -> None:
    nodes = "two redis nodes" if args.backend == "redis" else f"one {args.backend} node"
    print(
        f"\n== reactions: 1 room x {args.clients} connections on {nodes}, {args.senders} senders x "
        f"{args.rate:g} msg/s for {args.duration:g} s per run; {os.cpu_count()} CPUs shared by clients, "
        f"nodes and Redis"
    )
    header = f"{'':28}{'without reactions':>22}{'with reactions':>22}"
    print(header)
    rows: list[tuple[str, str, str]] = []
    for label, pick in (
        ("load average before", lambda r: f"{r['loadavg']:.2f}"),
        ("messages sent", lambda r: f"{r['sent']}"),
        ("delivered", lambda r: f"{len(r['latencies'])} of {r['sent'] * args.clients}"),
        ("delivered / s", lambda r: f"{len(r['latencies']) / r['window']:.0f}"),
        ("latency p50", lambda r: f"{percentile(r['latencies'], 0.50) / 1e6:.1f} ms"),
        ("latency p99", lambda r: f"{percentile(r['latencies'], 0.99) / 1e6:.1f} ms"),
        ("server CPU (per node)", lambda r: ", ".join(f"{s:.1f} s" for s in r["server_cpu"])),
        ("errors / closed", lambda r: f"{r['errors']} / {r['closed']}"),
    ):
        rows.append((label, pick(plain), pick(reacting)))
    for label, without, with_ in rows:
        print(f"{label:28}{without:>22}{with_:>22}")
    toggles, frames = reacting["reacted"], reacting["reaction_frames"]
    reacted_messages = toggles / args.reactions_each if args.reactions_each else 0
    print(
        f"reactions: {toggles} toggles on {reacted_messages:.0f} of {reacting['sent']} messages (picked by id hash: "
        f"about {args.reaction_share:.0%}) x {args.reactions_each}; "
        f"`reaction` frames received per client {frames / args.clients:.1f} "
        f"({frames / args.clients / max(reacted_messages, 1):.2f} per reacted message, of "
        f"{args.reactions_each} without coalescing); in all {frames} of {toggles * args.clients} "
        f"({100 * frames / max(toggles * args.clients, 1):.1f} %)"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reactions-") as tmp:
        nodes, redis_server = start_cluster(argparse.Namespace(**{**vars(args), "redis_url": None}), Path(tmp))
        try:
            urls, pids = [node.ws_url for node in nodes], [node.pid for node in nodes]
            if args.warmup:
                one_run(argparse.Namespace(**{**vars(args), "duration": args.warmup}), urls, pids, 0.0)
            plain = one_run(args, urls, pids, 0.0)
            time.sleep(1)
            reacting = one_run(args, urls, pids, args.reaction_share)
            report(args, plain, reacting)
        finally:
            for node in nodes:
                node.stop()
            if redis_server:
                redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
