// The vote pages' glue around ballot.js: cast an encrypted ballot and show its tracker; make a
// trustee's key share (kept on this phone and in a backup file); give a trustee's share of the count
// after checking the board's totals on this phone.
(function () {
  "use strict";

  function jsonOf(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function csrf(root) {
    const el = (root || document).querySelector("input[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }

  function show(el, text) {
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  async function post(url, body, token) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    return { ok: response.ok && data.ok === true, data: data };
  }

  // Groups of four characters are easier to read out and compare; the spans hold no spaces, so a
  // copied tracker still pastes whole into the lookup form.
  function showTracker(el, hex) {
    el.textContent = "";
    for (let i = 0; i < hex.length; i += 4) {
      const group = document.createElement("span");
      group.textContent = hex.slice(i, i + 4);
      el.appendChild(group);
    }
  }

  function storageKey(d) {
    return "shequ-trustee-" + d.vote + "-" + d.position;
  }

  // Ballots ---------------------------------------------------------------------------------------
  document.querySelectorAll("form[data-ballot]").forEach(function (form) {
    const data = jsonOf(form.dataset.ballot);
    const error = form.querySelector("[data-error]");
    const button = form.querySelector("button[type=submit]");
    const receipt = form.querySelector("[data-receipt]");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      show(error, "");
      const boxes = Array.from(form.querySelectorAll("input[name=choice]"));
      const selections = boxes.map(function (b) { return b.checked ? 1 : 0; });
      const chosen = selections.reduce(function (a, b) { return a + b; }, 0);
      if (chosen > data.maxChoices) {
        show(error, form.dataset.msgOver);
        return;
      }
      button.disabled = true;
      const label = button.textContent;
      button.textContent = form.dataset.msgWorking;
      try {
        const ballot = await window.ShequBallot.encryptBallot({
          key: data.key,
          manifestHash: data.manifestHash,
          credential: data.credential,
          selections: selections,
          maxChoices: data.maxChoices,
        });
        const mine = await window.ShequBallot.tracker(ballot);
        const result = await post(form.dataset.url, { voter: data.voter, ballot: ballot }, csrf(form));
        if (!result.ok) {
          show(error, result.data.error || form.dataset.msgFailed);
          return;
        }
        // The tracker is computed on this phone too: the box cannot hand out another one.
        if (result.data.tracker !== mine) {
          show(error, form.dataset.msgFailed);
          return;
        }
        showTracker(receipt.querySelector("[data-tracker]"), mine);
        receipt.querySelector("[data-board]").href = result.data.board;
        receipt.hidden = false;
        receipt.focus && receipt.setAttribute("tabindex", "-1");
        receipt.focus && receipt.focus();
      } catch (e) {
        show(error, form.dataset.msgFailed);
      } finally {
        button.disabled = false;
        button.textContent = label;
      }
    });
  });

  // A trustee's key share -------------------------------------------------------------------------
  const keyBox = document.querySelector("[data-trustee-key]");
  if (keyBox) {
    const d = jsonOf("trustee-data");
    const error = keyBox.querySelector("[data-error]");
    const make = keyBox.querySelector("[data-make]");
    make.addEventListener("click", async function () {
      show(error, "");
      make.disabled = true;
      try {
        const share = await window.ShequBallot.makeKeyShare(d.vote, d.position);
        const record = { vote: d.vote, position: d.position, title: d.title, secret: share.secret, public: share.public };
        window.localStorage.setItem(storageKey(d), JSON.stringify(record));
        const result = await post(keyBox.dataset.url, { public_key: share.public, proof: share.proof }, csrf(keyBox));
        if (!result.ok) {
          window.localStorage.removeItem(storageKey(d));
          show(error, result.data.error || keyBox.dataset.msgFailed);
          make.disabled = false;
          return;
        }
        const backup = keyBox.querySelector("[data-backup]");
        backup.href = "data:application/json;charset=utf-8," + encodeURIComponent(JSON.stringify(record));
        backup.download = "trustee-" + d.vote + "-" + d.position + ".json";
        make.hidden = true;
        keyBox.querySelector("[data-done]").hidden = false;
      } catch (e) {
        show(error, keyBox.dataset.msgFailed);
        make.disabled = false;
      }
    });
  }

  // A trustee's share of the count ----------------------------------------------------------------
  const countBox = document.querySelector("[data-trustee-count]");
  if (countBox) {
    const d = jsonOf("trustee-data");
    const error = countBox.querySelector("[data-error]");
    const go = countBox.querySelector("[data-count]");
    const file = countBox.querySelector("[data-file]");

    async function record() {
      if (file && file.files && file.files.length) {
        return JSON.parse(await file.files[0].text());
      }
      const stored = window.localStorage.getItem(storageKey(d));
      return stored ? JSON.parse(stored) : null;
    }

    go.addEventListener("click", async function () {
      show(error, "");
      go.disabled = true;
      try {
        const key = await record();
        if (!key || !key.secret) {
          show(error, countBox.dataset.msgNokey);
          return;
        }
        if (key.public !== d.publicKey || key.vote !== d.vote) {
          show(error, countBox.dataset.msgWrongkey);
          return;
        }
        const response = await fetch(d.board, { credentials: "same-origin" });
        const board = await response.json();
        const checked = await window.ShequBallot.checkBoard(board, d.manifestHash);
        if (!checked.ok) {
          show(error, countBox.dataset.msgMismatch);
          return;
        }
        const note = countBox.querySelector("[data-checked]");
        show(note, note.dataset.msg.replace("{n}", String(checked.counted)).replace("{head}", checked.head.slice(0, 16)));
        const close = board.entries.find(function (e) { return e.kind === "close"; }).payload;
        const shares = await window.ShequBallot.countShares(key.secret, d.manifestHash, d.position, close.totals, "shares");
        const sharesArea = await window.ShequBallot.countShares(key.secret, d.manifestHash, d.position, close.totals_area, "shares_area");
        const result = await post(countBox.dataset.url, { shares: shares, shares_area: sharesArea }, csrf(countBox));
        if (!result.ok) {
          show(error, result.data.error || countBox.dataset.msgFailed);
          return;
        }
        countBox.querySelector("[data-done]").hidden = false;
        go.hidden = true;
      } catch (e) {
        show(error, countBox.dataset.msgFailed);
      } finally {
        go.disabled = false;
      }
    });
  }
})();
