"""Cost of the browser's ballot (static/participation/ballot.js, in Node): encrypting a ballot of 7
options with up to 5 choices, and a trustee's shares of the count for 7 totals, against a baseline
measured in the same run — one modular exponentiation in the group (2048-bit modulus, a uniformly
random 256-bit exponent, ballot.js's own BigInt square-and-multiply), the unit the protocol is made
of. "ballot = N modpows" is then about the same on any machine; on a phone divide by its modpow.

The same ballot in Python (gmpy2) is timed for comparison. No database is touched.
``.venv/bin/python bench/bench_ballot_js.py [runs]``
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from shequ.participation.crypto.ballots import encrypt_ballot
from shequ.participation.crypto.group import G, powmod, random_exponent

BALLOT_JS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "shequ",
    "participation",
    "static",
    "participation",
    "ballot.js",
)
SELECTIONS = [1, 0, 1, 1, 0, 1, 1]  # 7 options, 5 chosen: the proof of the total covers 0…5
MAX_CHOICES = 5

# Runs in Node: per run, the baseline (the mean of 20 modpows) then one ballot and one set of
# shares, alternating so a busy machine slows all alike. Prints JSON with the per-run times (ms).
NODE_SCRIPT = r"""
const B = require(process.argv[2]);
const runs = Number(process.argv[3]);
const now = () => performance.now();
(async () => {
  const share = await B.makeKeyShare("bench", 1);
  const args = { key: share.public, manifestHash: "ab".repeat(32), credential: "cd".repeat(32),
                 selections: JSON.parse(process.argv[4]), maxChoices: Number(process.argv[5]) };
  const warm = await B.encryptBallot(args);  // warm-up (JIT)
  const totals = warm.choices.map((c) => ({ a: c.a, b: c.b }));
  const out = { modpow: [], ballot: [], shares: [] };
  for (let run = 0; run < runs; run++) {
    const xs = Array.from({ length: 20 }, () => B.randomExponent());
    let t0 = now();
    for (const x of xs) B.modpow(B.G, x);
    out.modpow.push((now() - t0) / xs.length);
    t0 = now();
    await B.encryptBallot(args);
    out.ballot.push(now() - t0);
    t0 = now();
    await B.countShares(share.secret, "ab".repeat(32), 1, totals, "shares");
    out.shares.push(now() - t0);
  }
  process.stdout.write(JSON.stringify(out));
})();
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def python_ballot_ms(key: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        encrypt_ballot(
            key=key,
            manifest_hash="ab" * 32,
            credential="cd" * 32,
            selections=SELECTIONS,
            max_choices=MAX_CHOICES,
        )
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(runs: int = 20) -> None:
    node = shutil.which("node")
    if node is None:
        sys.exit("node is not on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    proc = subprocess.run(
        [node, "-", BALLOT_JS, str(runs), json.dumps(SELECTIONS), str(MAX_CHOICES)],
        input=NODE_SCRIPT,
        capture_output=True,
        text=True,
        check=True,
    )
    times: dict[str, list[float]] = json.loads(proc.stdout)
    modpow = statistics.median(times["modpow"])
    py = python_ballot_ms(powmod(G, random_exponent()), runs)
    print(
        f"node {version}, {runs} alternating runs; ballot: {len(SELECTIONS)} options, up to {MAX_CHOICES} "
        f"choices ({sum(SELECTIONS)} chosen); shares: {len(SELECTIONS)} totals"
    )
    print(f"baseline: one modpow in JS (2048-bit modulus, 256-bit exponent)  p50 {modpow:6.2f} ms")
    print(f"{'operation':<32} {'p50 ms':>8} {'p95 ms':>8}   {'modpows p50':>11} {'p95':>5}")
    for name, key in (
        ("encryptBallot (voter's phone)", "ballot"),
        ("countShares (trustee's phone)", "shares"),
    ):
        # The ratio run by run: a slow moment slows the baseline measured next to it too.
        ratios = [t / m for t, m in zip(times[key], times["modpow"], strict=True)]
        print(
            f"{name:<32} {percentile(times[key], 50):8.1f} {percentile(times[key], 95):8.1f}   "
            f"{percentile(ratios, 50):11.0f} {percentile(ratios, 95):5.0f}"
        )
    js = percentile(times["ballot"], 50)
    print(f"{'encrypt_ballot, Python (gmpy2)':<32} {py:8.1f} {'':>8}   JS/Python {js / py:.1f}×")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
