#!/usr/bin/env python3
"""The door under hostile load: `hooklog serve`'s memory and its real deliveries' latency while many
connections trickle large bodies at it.

    attack.py --pid PID --port PORT --valid PATH [--connections 1000] [--seconds 20] ...

Three phases, each `--seconds` long, in one run against one server (loopback only):
  reference  real deliveries alone: small O2VEND requests (a few hundred bytes, a new Id each), paced at
             `--rate` a second over `--real-connections` kept-alive connections;
  unknown    the same real deliveries while `--connections` connections POST to an unknown token, each
             declaring a `--body`-byte body and trickling it (`--chunk` bytes every `--interval` s);
  valid      the same with the valid token (so the server may accept the bodies).
The attackers run in a child process of their own, so that their work does not delay the real
deliveries' timestamps. An attacking connection that the server answers or closes opens again after
`--reconnect` s, so the pressure holds for the whole phase. Every request loop stops at the end of its
phase.

Prints the server's resident memory (VmRSS) before, at the peak of, and after each attack phase (after:
once the phase's connections are gone and `--settle` s have passed), the p50/p99 latency of the real
deliveries of each phase beside the reference, and what the attackers were answered. The last lines are
`key=value` pairs for the calling script.
"""
import argparse
import asyncio
import collections
import json
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--pid", type=int, required=True)
p.add_argument("--port", type=int, required=True)
p.add_argument("--valid", required=True, help="the path of a valid O2VEND URL: /v1/o2vend/TOKEN")
p.add_argument("--connections", type=int, default=1000)
p.add_argument("--seconds", type=float, default=20)
p.add_argument("--body", type=int, default=4_000_000, help="declared Content-Length of each attacking body")
p.add_argument("--chunk", type=int, default=16384)
p.add_argument("--interval", type=float, default=0.25)
p.add_argument("--reconnect", type=float, default=0.5)
p.add_argument("--rate", type=float, default=50, help="real deliveries a second")
p.add_argument("--real-connections", type=int, default=4)
p.add_argument("--settle", type=float, default=5)
p.add_argument("--attack-only", metavar="PATH",
               help="(internal) run only the attacking connections to PATH for --seconds; print their outcomes as JSON")
args = p.parse_args()

HOST = "127.0.0.1"


def rss_kb():
    try:
        with open(f"/proc/{args.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler:
    """VmRSS every 50 ms while running; the peak since the last reset."""

    def __init__(self):
        self.peak = 0

    async def run(self, stop):
        while not stop.is_set():
            self.peak = max(self.peak, rss_kb())
            await asyncio.sleep(0.05)


async def read_response(reader):
    """The status of one response, its body read (by Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def real_deliveries(path, deadline, latencies, statuses, counter):
    """One kept-alive connection sending paced real deliveries until `deadline`."""
    gap = args.real_connections / args.rate
    reader = writer = None
    next_send = time.monotonic()
    while time.monotonic() < deadline:
        next_send += gap
        counter[0] += 1
        body = json.dumps(
            {"Id": f"real-{counter[0]}-{time.time_ns()}", "Event": "Order.Create", "Attempt": 1,
             "Data": {"Id": counter[0], "Total": "12.50", "Lines": [{"Sku": "A-1", "Qty": 2}]}}
        ).encode()
        request = (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        started = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, args.port), 10)
            writer.write(request)
            status = await asyncio.wait_for(read_response(reader), 30)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as e:
            status = type(e).__name__
            if writer is not None:
                writer.close()
            reader = writer = None
        latencies.append(time.monotonic() - started)
        statuses[status] += 1
        pause = next_send - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        else:
            next_send = time.monotonic()  # late: no burst to catch up
    if writer is not None:
        writer.close()


async def attacker(path, deadline, outcomes, open_now):
    """One connection at a time: declares a large body and trickles it until answered, closed or done."""
    chunk = b"x" * args.chunk
    while time.monotonic() < deadline:
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, args.port), 10)
            open_now[0] += 1
            writer.write((f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {args.body}\r\n\r\n").encode())
            answer = asyncio.ensure_future(reader.read(1024))
            sent = 0
            outcome = "still trickling at the end"
            while time.monotonic() < deadline:
                done, _ = await asyncio.wait({answer}, timeout=args.interval)
                if done:
                    data = answer.result()
                    outcome = data.split(b"\r\n", 1)[0].decode("latin-1")[9:12] if data else "closed"
                    break
                if sent < args.body:
                    n = min(args.chunk, args.body - sent)
                    writer.write(chunk[:n])
                    sent += n
                    await writer.drain()
            if not answer.done():
                answer.cancel()
            outcomes[outcome or "closed"] += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
            outcomes[type(e).__name__] += 1
        finally:
            if writer is not None:
                open_now[0] -= 1
                writer.close()
        await asyncio.sleep(args.reconnect)


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def phase(name, attack_path):
    deadline = time.monotonic() + args.seconds
    latencies, statuses, counter = [], collections.Counter(), [0]
    outcomes = collections.Counter()
    sampler = Sampler()
    stop = asyncio.Event()
    before = rss_kb()
    sampling = asyncio.ensure_future(sampler.run(stop))
    tasks = [asyncio.ensure_future(real_deliveries(args.valid, deadline, latencies, statuses, counter))
             for _ in range(args.real_connections)]
    attackers = None
    if attack_path:
        # In a process of their own: in this one, a thousand connections' work would delay the real
        # deliveries' timestamps, and their latency would be the load generator's.
        attackers = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--pid", str(args.pid), "--port", str(args.port), "--valid", args.valid,
            "--connections", str(args.connections), "--seconds", str(args.seconds), "--body", str(args.body),
            "--chunk", str(args.chunk), "--interval", str(args.interval), "--reconnect", str(args.reconnect),
            "--attack-only", attack_path, stdout=asyncio.subprocess.PIPE)
    await asyncio.gather(*tasks)
    if attackers:
        out, _ = await attackers.communicate()
        outcomes.update(json.loads(out or b"{}"))
    await asyncio.sleep(args.settle)
    stop.set()
    await sampling
    after = rss_kb()
    p50, p99 = percentile(latencies, 0.50) * 1e3, percentile(latencies, 0.99) * 1e3
    ok = statuses.get(200, 0)
    print(f"{name}: RSS before {before / 1024:.0f} MB, peak {sampler.peak / 1024:.0f} MB, after {after / 1024:.0f} MB; "
          f"real deliveries {ok}/{len(latencies)} answered 200, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    others = {k: v for k, v in statuses.items() if k != 200}
    if others:
        print(f"  real deliveries not answered 200: {dict(others)}")
    if attack_path:
        print(f"  attacking connections' outcomes: {dict(outcomes.most_common())}")
    sys.stdout.flush()
    return {"before_mb": before / 1024, "peak_mb": sampler.peak / 1024, "after_mb": after / 1024,
            "p50_ms": p50, "p99_ms": p99, "ok": ok, "sent": len(latencies)}


async def attack_only(path):
    deadline = time.monotonic() + args.seconds
    outcomes, open_now = collections.Counter(), [0]
    tasks = []
    # Connections open over the first second, not in one burst of SYNs.
    for k in range(args.connections):
        tasks.append(asyncio.ensure_future(attacker(path, deadline, outcomes, open_now)))
        if k % 50 == 49:
            await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)
    print(json.dumps(dict(outcomes)))


async def main():
    if args.attack_only:
        await attack_only(args.attack_only)
        return
    token_path = args.valid
    unknown = token_path.rsplit("/", 1)[0] + "/hl_" + "0" * 43
    results = {}
    results["reference"] = await phase("reference (no attack)", None)
    results["unknown"] = await phase(f"unknown token x{args.connections}", unknown)
    results["valid"] = await phase(f"valid token x{args.connections}", token_path)
    for name, r in results.items():
        for key, value in r.items():
            print(f"{name}_{key}={value:.1f}" if isinstance(value, float) else f"{name}_{key}={value}")


asyncio.run(main())
