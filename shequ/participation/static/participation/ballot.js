/* Shequ ballots in the browser: the twin of shequ/participation/crypto (group.py, elgamal.py,
   ballots.py, trustees.py, verifier.aggregate). A voter's phone encrypts the ballot and proves it
   well formed; a trustee's phone makes a key share and decrypts only the board's own totals.
   Every string (hex widths, Fiat–Shamir inputs, contexts, canonical JSON) is byte-for-byte what
   Python writes: test_ballot_js.py feeds both the same randomness and compares.
   A plain script (no build step): a classic <script> in the browser, require() in Node. */
"use strict";

var ShequBallot = (function () {
  // The group of group.py: P = k·Q + 1 (2048 bits), Q prime (256 bits), G = 2^((P−1)/Q) mod P.
  const P = BigInt(
    "0x815E7E84AC51B3FF07B47FD0FFE39230DD986839C6CE74D1CD1262A91A4331530F476444565280BDAB88F7BD73" +
      "13280718EEED05A615EE42C1D4E82A250263F01245C528698E19EF04C8920AA8185A1B03AA473D802D7AA775B9" +
      "53CB65974D5CA11DC8F79C05BD3EB6E831D56DF1548428BE8A32022AF4E438BCCCC224F5485FD911901051CAE4" +
      "17F02D9A88D4060658A951DE1515EC8398832FC92F85E8DADC416F74C9FB21608E96A177772B3787F721002BF6" +
      "37167EF744AC554CC9BFEF8691C26A9DE38CC3CDA9044A13626EFB070F2E9A6178C94CF1383F7DF6117191177B" +
      "FF3F844ECF9247EC5EE5BAFAA81E2BC8843999A5F331C679ED884C30230685"
  );
  const Q = BigInt("0x844719D116A245CD1DD173383109D02EBA4999D9B16F04350EB359D13E865D99");
  const P_HEX_LEN = 512; // every element is written as 512 lowercase hex digits
  const Q_HEX_LEN = 64; // every exponent as 64

  function mod(x, m) {
    const r = x % m;
    return r < 0n ? r + m : r; // BigInt % keeps the dividend's sign
  }

  // Left-to-right square-and-multiply; exponents are at most 256 bits in everything below.
  function modpow(base, exp, m) {
    m = m || P;
    base = mod(base, m);
    let result = 1n;
    for (const bit of exp.toString(2)) {
      result = (result * result) % m;
      if (bit === "1") result = (result * base) % m;
    }
    return result;
  }

  const mulmod = (a, b) => (a * b) % P;
  // Computed once here rather than hard-coded: the tests compare it with group.G.
  const G = modpow(2n, (P - 1n) / Q);
  const G_INV = modpow(G, Q - 1n); // G has order Q, so G^(Q−1) = G^−1: no modular inversion needed

  const hexElement = (x) => x.toString(16).padStart(P_HEX_LEN, "0");
  const hexExponent = (x) => x.toString(16).padStart(Q_HEX_LEN, "0");

  // Strict parsing: only the canonical form (lowercase, exact width) is accepted.
  function parseHex(value, width, what) {
    if (typeof value !== "string" || value.length !== width || !/^[0-9a-f]+$/.test(value)) {
      throw new Error(`${what}: expected ${width} lowercase hexadecimal digits`);
    }
    return BigInt("0x" + value);
  }

  // A group member (group.element): outside the subgroup a value could leak a secret's bits.
  function element(value) {
    const x = typeof value === "bigint" ? value : parseHex(value, P_HEX_LEN, "element");
    if (x < 1n || x >= P || modpow(x, Q) !== 1n) throw new Error("not an element of the group");
    return x;
  }

  function exponent(value) {
    const x = typeof value === "bigint" ? value : parseHex(value, Q_HEX_LEN, "exponent");
    if (x < 0n || x >= Q) throw new Error("not an exponent of the group");
    return x;
  }

  // Uniform in [1, Q) by rejection: Q > 2^255, so fewer than two draws of 32 bytes on average.
  function randomExponent() {
    const bytes = new Uint8Array(32);
    for (;;) {
      globalThis.crypto.getRandomValues(bytes);
      let x = 0n;
      for (const byte of bytes) x = (x << 8n) | BigInt(byte);
      if (x >= 1n && x < Q) return x;
    }
  }

  async function sha256Hex(text) {
    const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // The Fiat–Shamir challenge (group.hash_to_exponent): SHA-256 of the parts joined by "|", mod Q.
  async function hashToExponent(...parts) {
    return BigInt("0x" + (await sha256Hex(parts.join("|")))) % Q;
  }

  // ballots.canonical: sorted keys, no spaces, non-ASCII raw (JSON.stringify escapes strings the
  // way json.dumps(ensure_ascii=False) does). Python sorts keys by code point, JS by UTF-16 unit.
  function byCodePoint(x, y) {
    const a = Array.from(x, (c) => c.codePointAt(0));
    const b = Array.from(y, (c) => c.codePointAt(0));
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  }

  function canonical(value) {
    if (value === null || typeof value === "boolean" || typeof value === "string") {
      return JSON.stringify(value);
    }
    if (typeof value === "number") {
      // Python writes 1.0 where JS writes 1: only integers hash the same on both sides.
      if (!Number.isSafeInteger(value)) throw new Error("canonical JSON holds integers only");
      return String(value);
    }
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (typeof value === "object") {
      const keys = Object.keys(value).sort(byCodePoint);
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
    }
    throw new Error(`canonical JSON cannot hold a ${typeof value}`);
  }

  const digest = (data) => sha256Hex(canonical(data));
  const tracker = (ballot) => digest(ballot);

  async function draw(rng) {
    const x = await rng();
    if (typeof x !== "bigint" || x < 0n || x >= Q) throw new Error("the rng must return an exponent");
    return x;
  }

  // --- Exponential ElGamal and its proofs (elgamal.py) ---------------------------------------------

  function encrypt(key, m, r) {
    return { a: modpow(G, r), b: mulmod(modpow(key, r), m ? G : 1n) }; // m is 0 or 1 here
  }

  function product(cts) {
    let a = 1n, b = 1n;
    for (const ct of cts) [a, b] = [mulmod(a, ct.a), mulmod(b, ct.b)];
    return { a, b };
  }

  async function proveKey(secret, context, rng) {
    const w = await draw(rng);
    const c = await hashToExponent("key", context, hexElement(modpow(G, secret)), hexElement(modpow(G, w)));
    return { c: hexExponent(c), v: hexExponent(mod(w - c * secret, Q)) };
  }

  // The simulated branch j: g^v·a^c and K^v·(b/g^j)^c (elgamal._commitments).
  function commitments(key, ct, j, c, v) {
    const alpha = mulmod(modpow(G, v), modpow(ct.a, c));
    const shifted = j ? mulmod(ct.b, modpow(G_INV, BigInt(j))) : ct.b;
    return [alpha, mulmod(modpow(key, v), modpow(shifted, c))];
  }

  // CDS disjunction: ct encrypts m, one of 0…limit. Draws w, then (c_j, v_j) for each j ≠ m in
  // order — the order elgamal.prove_range calls its rng, so both give the same proof.
  async function proveRange(key, ct, m, r, limit, context, rng) {
    if (!(m >= 0 && m <= limit)) throw new Error("the value is outside the range it is proved in");
    const cs = new Array(limit + 1).fill(0n);
    const vs = new Array(limit + 1).fill(0n);
    const committed = [];
    const w = await draw(rng);
    for (let j = 0; j <= limit; j++) {
      let pair;
      if (j === m) {
        pair = [modpow(G, w), modpow(key, w)];
      } else {
        cs[j] = await draw(rng);
        vs[j] = await draw(rng);
        pair = commitments(key, ct, j, cs[j], vs[j]);
      }
      committed.push(hexElement(pair[0]), hexElement(pair[1]));
    }
    const c = await hashToExponent(
      "range", context, String(limit), hexElement(key), hexElement(ct.a), hexElement(ct.b), ...committed
    );
    cs[m] = mod(c - cs.reduce((s, x) => s + x, 0n), Q);
    vs[m] = mod(w - cs[m] * r, Q);
    return { c: cs.map(hexExponent), v: vs.map(hexExponent) };
  }

  // Chaum–Pedersen: log_g(public) = log_a(d), so the share is the trustee's own.
  async function partialDecrypt(secret, ct, context, rng) {
    const share = modpow(ct.a, secret);
    const w = await draw(rng);
    const c = await hashToExponent(
      "decrypt", context, hexElement(modpow(G, secret)), hexElement(ct.a), hexElement(share),
      hexElement(modpow(G, w)), hexElement(modpow(ct.a, w))
    );
    return { d: hexElement(share), c: hexExponent(c), v: hexExponent(mod(w - c * secret, Q)) };
  }

  // --- Ballots (ballots.py) ------------------------------------------------------------------------

  const ballotContext = (manifestHash, credential, part) => `${manifestHash}|${credential}|${part}`;

  async function encryptBallot({ key, manifestHash, credential, selections, maxChoices }, rng) {
    rng = rng || randomExponent;
    if (!Array.isArray(selections) || selections.some((s) => s !== 0 && s !== 1)) {
      throw new Error("each option is chosen (1) or not (0)");
    }
    if (!Number.isSafeInteger(maxChoices) || maxChoices < 0) throw new Error("maxChoices is a count");
    const chosen = selections.reduce((s, x) => s + x, 0);
    if (chosen > maxChoices) throw new Error(`at most ${maxChoices} choices`);
    if (typeof manifestHash !== "string" || typeof credential !== "string" || credential.length !== 64) {
      throw new Error("a ballot needs the manifest's hash and a credential of 64 characters");
    }
    const K = element(key);
    if (K === 1n) throw new Error("the vote's key is the identity: the ballot would not be secret");
    const choices = [];
    const cts = [];
    let totalR = 0n;
    for (let i = 0; i < selections.length; i++) {
      const m = selections[i];
      const r = await draw(rng);
      const ct = encrypt(K, m, r);
      const proof = await proveRange(K, ct, m, r, 1, ballotContext(manifestHash, credential, String(i)), rng);
      choices.push({ a: hexElement(ct.a), b: hexElement(ct.b), proof });
      cts.push(ct);
      totalR += r;
    }
    // The product of the options' ciphertexts encrypts the number of choices, under Σr.
    const context = ballotContext(manifestHash, credential, "total");
    const total = await proveRange(K, product(cts), chosen, mod(totalR, Q), maxChoices, context, rng);
    return { credential, choices, total };
  }

  // --- Trustees (trustees.py, verifier contexts) --------------------------------------------------

  async function makeKeyShare(voteUid, position, rng) {
    rng = rng || randomExponent;
    const secret = await draw(rng);
    if (secret === 0n) throw new Error("a secret key is not zero");
    const proof = await proveKey(secret, `${voteUid}|trustee|${position}`, rng);
    return { secret: hexExponent(secret), public: hexElement(modpow(G, secret)), proof };
  }

  async function countShares(secretHex, manifestHash, position, totals, part, rng) {
    rng = rng || randomExponent;
    part = part || "shares";
    if (part !== "shares" && part !== "shares_area") throw new Error("part is shares or shares_area");
    if (!Array.isArray(totals)) throw new Error("totals is a list of ciphertexts");
    const secret = exponent(secretHex);
    // Checked as group elements before the secret touches them (Ciphertext.from_json does the same).
    const cts = totals.map((t) => ({ a: element(t && t.a), b: element(t && t.b) }));
    const out = [];
    for (let i = 0; i < cts.length; i++) {
      out.push(await partialDecrypt(secret, cts[i], `${manifestHash}|${position}|${part}|${i}`, rng));
    }
    return out;
  }

  // --- The board's totals (verifier.aggregate), so a trustee decrypts nothing else ----------------

  function boardEntries(board) {
    const entries = board && board.entries;
    if (!Array.isArray(entries) || !entries.length || entries[0].kind !== "manifest") {
      throw new Error("not a board export: it starts with the manifest");
    }
    return entries;
  }

  // Only the canonical form parses; the subgroup check is left to countShares (one check per
  // total instead of two modpows per ballot and option on a phone).
  function ciphertext(data) {
    const a = parseHex(data && data.a, P_HEX_LEN, "a");
    const b = parseHex(data && data.b, P_HEX_LEN, "b");
    if (a < 1n || a >= P || b < 1n || b >= P) throw new Error("not an element of the group");
    return { a, b };
  }

  function totalsFromBoard(board) {
    const entries = boardEntries(board);
    const manifest = entries[0].payload;
    const options = manifest.options.length;
    const last = new Map(); // credential → its last ballot: a re-vote replaces the earlier one
    for (const entry of entries) {
      if (entry.kind !== "ballot") continue;
      const ballot = entry.payload.ballot;
      const weight = entry.payload.weight === undefined ? 1 : entry.payload.weight;
      if (!Number.isSafeInteger(weight) || weight < 0) throw new Error("a ballot's weight is a count");
      if (!Array.isArray(ballot.choices) || ballot.choices.length !== options) {
        throw new Error(`a ballot has ${options} choices, one per option`);
      }
      last.set(ballot.credential, { cts: ballot.choices.map(ciphertext), weight: BigInt(weight) });
    }
    const counted = Array.from(last.values());
    const json = (ct) => ({ a: hexElement(ct.a), b: hexElement(ct.b) });
    const totals = [];
    const areas = [];
    for (let i = 0; i < options; i++) {
      totals.push(json(product(counted.map((c) => c.cts[i]))));
      if (manifest.weighted) {
        // An owner's choice counts by floor area: the ciphertext of weight·m is (a^w, b^w).
        const weighted = counted.map((c) => ({ a: modpow(c.cts[i].a, c.weight), b: modpow(c.cts[i].b, c.weight) }));
        areas.push(json(product(weighted)));
      }
    }
    return { totals, totals_area: areas };
  }

  function checkTotals(board) {
    try {
      const closes = boardEntries(board).filter((e) => e.kind === "close");
      if (closes.length !== 1) return false;
      const ours = totalsFromBoard(board);
      const theirs = closes[0].payload;
      return (
        canonical(ours.totals) === canonical(theirs.totals) &&
        canonical(ours.totals_area) === canonical(theirs.totals_area || [])
      );
    } catch (e) {
      return false; // a board that does not parse is not the board's totals
    }
  }

  // What a trustee's phone checks before it decrypts anything: the board is one unbroken chain
  // (verifier.entry_hash), it is the vote the phone made its key for (the manifest hash), every
  // ballot came before the close entry, the close entry counts the ballots the board has, there
  // are at least two of them (a total of one ballot is that ballot), and the totals are the
  // product of the counted ballots. A server showing one trustee a forged board is still
  // possible; the public verifier then finds that the announced tally does not match the public
  // board (docs/security.md).
  async function checkBoard(board, manifestHash) {
    try {
      const entries = boardEntries(board);
      let prev = "0".repeat(64);
      for (let n = 0; n < entries.length; n++) {
        const e = entries[n];
        if (e.seq !== n || e.prev_hash !== prev) return { ok: false, reason: "chain" };
        const h = await sha256Hex(`${prev}|${n}|${e.kind}|${canonical(e.payload)}`);
        if (h !== e.hash) return { ok: false, reason: "chain" };
        prev = h;
      }
      if ((await sha256Hex(canonical(entries[0].payload))) !== manifestHash) return { ok: false, reason: "manifest" };
      const kinds = entries.map((e) => e.kind);
      const close = kinds.indexOf("close");
      if (close < 0 || kinds.lastIndexOf("close") !== close || kinds.lastIndexOf("ballot") > close) {
        return { ok: false, reason: "close" };
      }
      const counted = new Set(entries.filter((e) => e.kind === "ballot").map((e) => e.payload.ballot.credential)).size;
      if (counted < 2 || entries[close].payload.voted !== counted) return { ok: false, reason: "count" };
      if (!checkTotals(board)) return { ok: false, reason: "totals" };
      return { ok: true, counted: counted, head: prev };
    } catch (e) {
      return { ok: false, reason: "parse" };
    }
  }

  return {
    P, Q, G, modpow, randomExponent, canonical, tracker,
    encryptBallot, makeKeyShare, countShares, totalsFromBoard, checkTotals, checkBoard,
  };
})();

if (typeof module !== "undefined") module.exports = ShequBallot; else window.ShequBallot = ShequBallot;
