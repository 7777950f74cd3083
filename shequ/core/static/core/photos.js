// The photo input of every form (core/widgets/photos.html): a button that opens the camera or the
// gallery, thumbnails with remove buttons, a count, and photos shrunk on the phone before the form
// is posted. A 12-megapixel photo (~4 MB) becomes ~0.4 MB: seconds instead of a minute on a weak
// signal, and the re-encoding drops EXIF (the GPS position) before it leaves the phone. The chosen
// files are put back into the form's own input, so the ordinary post sends them; without this
// script (or DataTransfer) the plain input works and the server checks everything anyway.
(function () {
  "use strict";
  if (window.shequPhotos) { window.shequPhotos.scan(); return; } // the widget's tag, once per input
  var SERVER_TYPES = ["image/jpeg", "image/png", "image/webp"];
  var KEEP_BYTES = 1024 * 1024; // small enough already: sent as it is (the server strips its EXIF)
  var THUMB_EDGE = 240;

  function canTransfer() {
    try { return typeof DataTransfer === "function" && !!new DataTransfer().items; } catch (e) { return false; }
  }

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function phone() {
    return window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  }

  function toBlob(canvas, type, quality) {
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) { if (blob) { resolve(blob); } else { reject(new Error("encode")); } }, type, quality);
    });
  }

  function draw(bitmap, width, height) {
    var canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff"; // a PNG's transparent parts become white, not black, in a JPEG
    ctx.fillRect(0, 0, width, height);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, width, height);
    return canvas;
  }

  function fit(width, height, edge) {
    var scale = Math.min(1, edge / Math.max(width, height));
    return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
  }

  // Decode (upright: createImageBitmap follows the EXIF orientation), shrink to `edge` and
  // re-encode as JPEG; a photo already small in both pixels and bytes is kept as it is.
  function prepare(file, edge, quality) {
    if (typeof createImageBitmap !== "function") { return Promise.reject(new Error("decode")); }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var thumbSize = fit(bitmap.width, bitmap.height, THUMB_EDGE);
      var thumb = draw(bitmap, thumbSize[0], thumbSize[1]).toDataURL("image/jpeg", 0.7);
      var small = Math.max(bitmap.width, bitmap.height) <= edge;
      if (small && file.size <= KEEP_BYTES && SERVER_TYPES.indexOf(file.type) >= 0) {
        bitmap.close();
        return { file: file, thumb: thumb };
      }
      var size = fit(bitmap.width, bitmap.height, edge);
      var canvas = draw(bitmap, size[0], size[1]);
      bitmap.close();
      return toBlob(canvas, "image/jpeg", quality).then(function (blob) {
        var name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
        return { file: new File([blob], name, { type: "image/jpeg", lastModified: Date.now() }), thumb: thumb };
      });
    });
  }

  function enhance(box) {
    var input = box.querySelector("input[type=file]");
    if (!input || box.hasAttribute("data-ready") || !canTransfer()) { return; }
    box.setAttribute("data-ready", "");
    var t = box.dataset;
    var max = Number(t.max) || 9;
    var maxBytes = Number(t.maxBytes) || Infinity;
    var edge = Number(t.edge) || 1600;
    var quality = Number(t.quality) || 0.85;
    var form = input.form;
    var items = []; // {file, thumb} or, while being prepared, {pending: true}
    var queue = Promise.resolve();
    var waiting = false; // a submit came while photos were still being prepared
    var submitter = null; // and the button that sent it (its name and value are posted)

    var tools = document.createElement("div");
    tools.className = "photo-tools";
    var add = button("button secondary photo-add", t.tAdd);
    var described = input.getAttribute("aria-describedby");
    if (described) { add.setAttribute("aria-describedby", described); }
    if (input.id) { add.id = input.id + "-add"; }
    tools.appendChild(add);
    var picker = helper(false);
    var camera = null;
    if (phone()) {
      camera = helper(true);
      tools.appendChild(button("button secondary photo-camera", t.tCamera)).addEventListener("click", function () { camera.click(); });
    }
    var count = document.createElement("p");
    count.className = "photo-count";
    count.setAttribute("aria-live", "polite");
    var grid = document.createElement("ul");
    grid.className = "photo-grid";
    grid.setAttribute("aria-label", t.tList);
    var message = document.createElement("p");
    message.className = "error photo-message";
    message.setAttribute("role", "alert");
    message.hidden = true;
    box.append(tools, count, grid, message);
    // The form's own input only carries the files now; a label pointing at it opens the picker.
    input.hidden = true;
    input.tabIndex = -1;
    add.addEventListener("click", function () { picker.click(); });
    // A tap on the field's label still opens the form's own input: what it picks is added too
    // (sync() puts every kept photo back, whatever the dialog left in it).
    input.addEventListener("change", function () { take(input.files); });
    if (input.files && input.files.length) { take(input.files); } // chosen before the script ran
    render();

    function button(cls, text) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = cls;
      b.textContent = text;
      return b;
    }

    // Pickers of their own (no name: never posted), so a cancelled dialog loses nothing chosen.
    function helper(capture) {
      var h = document.createElement("input");
      h.type = "file";
      h.accept = capture ? "image/*" : input.accept || "image/*";
      if (capture) { h.setAttribute("capture", "environment"); } else { h.multiple = true; }
      h.hidden = true;
      h.tabIndex = -1;
      h.setAttribute("aria-hidden", "true");
      h.addEventListener("change", function () { take(h.files); h.value = ""; });
      box.appendChild(h);
      return h;
    }

    function take(fileList) {
      var files = Array.prototype.slice.call(fileList || []);
      var problems = [];
      var room = max - items.length;
      if (files.length > room) {
        problems.push(say(t.tTooMany, { max: max, n: files.length - Math.max(room, 0) }));
        files = files.slice(0, Math.max(room, 0));
      }
      files.forEach(function (file) {
        if (file.type && file.type.indexOf("image/") !== 0) {
          problems.push(say(t.tType, { name: file.name }));
          return;
        }
        var item = { pending: true, name: file.name };
        items.push(item);
        // One photo at a time: nine decoded 12-megapixel photos at once would need ~430 MB.
        queue = queue.then(function () { return prepare(file, edge, quality); }).catch(function () {
          // Not decodable here (an old browser): send the original if the server takes it.
          if (SERVER_TYPES.indexOf(file.type) < 0) { throw say(t.tType, { name: file.name }); }
          return { file: file, thumb: "" };
        }).then(function (done) {
          if (done.file.size > maxBytes) { throw say(t.tSize, { name: file.name }); }
          item.file = done.file;
          item.thumb = done.thumb;
          item.pending = false;
        }).catch(function (problem) {
          items.splice(items.indexOf(item), 1);
          show([String(problem)]);
        }).then(function () {
          sync();
          render();
          if (waiting && !busy()) {
            waiting = false;
            if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
          }
        });
      });
      show(problems);
      sync();
      render();
    }

    function busy() {
      return items.some(function (i) { return i.pending; });
    }

    function show(problems) {
      message.textContent = problems.join(" ");
      message.hidden = problems.length === 0;
    }

    function sync() {
      var transfer = new DataTransfer();
      items.forEach(function (i) { if (!i.pending) { transfer.items.add(i.file); } });
      input.files = transfer.files;
    }

    function render() {
      count.textContent = say(t.tCount, { n: items.length, max: max });
      add.disabled = items.length >= max;
      if (camera) { tools.querySelector(".photo-camera").disabled = items.length >= max; }
      grid.textContent = "";
      grid.hidden = items.length === 0;
      items.forEach(function (item, index) {
        var n = index + 1;
        var li = document.createElement("li");
        if (item.pending) {
          li.className = "pending";
          li.appendChild(document.createElement("span")).textContent = t.tPreparing;
        } else if (item.thumb) {
          var img = document.createElement("img");
          img.src = item.thumb;
          img.alt = say(t.tPhoto, { n: n });
          li.appendChild(img);
        } else {
          li.appendChild(document.createElement("span")).textContent = say(t.tPhoto, { n: n });
        }
        if (!item.pending) {
          var remove = button("photo-remove", "×");
          remove.setAttribute("aria-label", say(t.tRemove, { n: n }));
          remove.addEventListener("click", function () {
            items.splice(items.indexOf(item), 1);
            show([]);
            sync();
            render();
            // Keep the keyboard where it was: on the next photo's button, or the add button.
            var next = grid.querySelectorAll(".photo-remove")[Math.min(index, items.length - 1)];
            (next || add).focus();
          });
          li.appendChild(remove);
        }
        grid.appendChild(li);
      });
    }

    if (form) {
      form.addEventListener("submit", function (event) {
        if (!busy()) { return; }
        event.preventDefault();
        event.stopImmediatePropagation();
        waiting = true;
        submitter = event.submitter || null;
        show([t.tBusy]);
      }, true);
    }
  }

  function scan() {
    document.querySelectorAll("[data-photo-picker]").forEach(enhance);
  }

  window.shequPhotos = { scan: scan };
  scan();
})();
