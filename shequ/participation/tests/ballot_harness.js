/* Runs ballot.js for test_ballot_js.py: reads {"jobs": [{fn, args, rng?}]} as JSON on stdin and
   writes one answer per job: {"result", "used"} (how many exponents the rng handed out) or
   {"error"}. A job's rng is a list of hex exponents, handed out in order; without one the job
   uses real randomness. args is a list of positional arguments. */
"use strict";

const path = require("path");
const ShequBallot = require(path.join(__dirname, "..", "static", "participation", "ballot.js"));

async function run(job) {
  let used = 0;
  let rng;
  if (job.rng) {
    rng = () => {
      if (used >= job.rng.length) throw new Error("the rng sequence ran out");
      return BigInt("0x" + job.rng[used++]);
    };
  }
  const fn = ShequBallot[job.fn];
  if (fn === undefined) throw new Error(`no ${job.fn} in ShequBallot`);
  if (typeof fn !== "function") return { result: fn, used }; // a constant (P, Q, G)
  const args = job.args.slice();
  if (rng) {
    // rng is each function's last parameter; fill the optional ones before it.
    while (args.length < fn.length - 1) args.push(undefined);
    args.push(rng);
  }
  return { result: await fn(...args), used };
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const { jobs } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const answers = [];
  for (const job of jobs) {
    try {
      answers.push(await run(job));
    } catch (e) {
      answers.push({ error: String(e && e.message ? e.message : e) });
    }
  }
  // BigInts (the constants, randomExponent) travel as hex.
  process.stdout.write(JSON.stringify(answers, (k, v) => (typeof v === "bigint" ? v.toString(16) : v)));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
