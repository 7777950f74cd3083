/* The region picker (core.forms.RegionPickerWidget): turns a region-code text box into a
   search-as-you-type list following the ARIA combobox pattern. The typed box shows the region's
   name; the original box (now hidden) carries the code that is posted. Choosing a region with
   regions below it lists those next, so one can go province → city → county → street →
   community → grid, or stop anywhere. Without this script the text box takes a code or a name. */
(function () {
  "use strict";

  function setup(original) {
    if (original.dataset.regionPickerReady) return;
    original.dataset.regionPickerReady = "1";
    var id = original.id;
    var crumb = document.getElementById(id + "_crumb");
    var list = original.getAttribute("list");
    if (list) {
      var datalist = document.getElementById(list);
      if (datalist) datalist.remove();
      original.removeAttribute("list");
    }

    var box = document.createElement("input");
    box.type = "text";
    box.id = id;
    box.className = original.className;
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-expanded", "false");
    box.setAttribute("autocomplete", "off");
    box.setAttribute("spellcheck", "false");
    ["aria-describedby", "aria-invalid", "required", "placeholder"].forEach(function (name) {
      if (original.hasAttribute(name)) box.setAttribute(name, original.getAttribute(name));
    });
    if (crumb) {
      var described = (box.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(crumb.id) < 0) described.push(crumb.id);
      box.setAttribute("aria-describedby", described.join(" "));
    }
    var path = crumb && crumb.dataset.path ? crumb.dataset.path.split(" › ") : [];
    box.value = path.length ? path[path.length - 1] : original.value;

    var listbox = document.createElement("ul");
    listbox.id = id + "_listbox";
    listbox.className = "region-options";
    listbox.setAttribute("role", "listbox");
    var label = document.querySelector('label[for="' + id + '"]');
    if (label) listbox.setAttribute("aria-label", label.textContent.replace(/[:：]\s*$/, ""));
    listbox.hidden = true;
    box.setAttribute("aria-controls", listbox.id);

    var status = document.createElement("p");
    status.className = "sr-only";
    status.setAttribute("role", "status");

    original.id = id + "_code";
    original.type = "hidden";
    original.removeAttribute("aria-describedby");
    // The list opens just below the box, over what follows, inside one positioned wrapper.
    var wrapper = document.createElement("div");
    wrapper.className = "region-picker";
    original.parentNode.insertBefore(wrapper, original);
    wrapper.appendChild(box);
    wrapper.appendChild(listbox);
    wrapper.appendChild(original);
    wrapper.appendChild(status);

    var results = [];
    var active = -1;
    var timer = null;
    var request = 0;

    function url(params) {
      var u = new URL(original.dataset.lookup, window.location.href);
      Object.keys(params).forEach(function (k) {
        if (params[k]) u.searchParams.set(k, params[k]);
      });
      return u.toString();
    }

    function close() {
      listbox.hidden = true;
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = listbox.children;
      for (var i = 0; i < items.length; i++) items[i].setAttribute("aria-selected", i === index ? "true" : "false");
      active = index;
      if (index >= 0 && items[index]) {
        box.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        box.removeAttribute("aria-activedescendant");
      }
    }

    function render(found, message) {
      results = found;
      listbox.textContent = "";
      found.forEach(function (region, i) {
        var li = document.createElement("li");
        li.id = id + "_option_" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        var name = document.createElement("span");
        name.className = "region-name";
        name.textContent = region.name;
        var where = document.createElement("span");
        where.className = "region-path";
        var above = region.path.slice(0, -1).join(" › "); // where it lies; its own name is above
        where.textContent = above ? region.level_label + " · " + above : region.level_label;
        li.appendChild(name);
        li.appendChild(where);
        li.addEventListener("click", function () { choose(i); });
        listbox.appendChild(li);
      });
      if (found.length) {
        listbox.hidden = false;
        box.setAttribute("aria-expanded", "true");
        highlight(-1);
      } else {
        close();
      }
      status.textContent = message || (found.length
        ? original.dataset.msgCount.replace("%s", found.length)
        : original.dataset.msgNone);
    }

    function load(params, message) {
      var mine = ++request;
      fetch(url(params), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) { if (mine === request) render(data.results || [], message); })
        .catch(function () { if (mine === request) close(); });
    }

    function choose(index) {
      var region = results[index];
      if (!region) return;
      original.value = region.code;
      box.value = region.name;
      box.removeAttribute("aria-invalid");
      if (crumb) {
        crumb.hidden = false;
        crumb.dataset.path = region.path.join(" › ");
        crumb.querySelector(".region-crumb-text").textContent = region.path.join(" › ");
      }
      if (region.has_children) {
        load({ parent: region.code }, original.dataset.msgChildren.replace("%s", region.name));
      } else {
        close();
        status.textContent = original.dataset.msgChosen.replace("%s", region.path.join(" › "));
      }
    }

    box.addEventListener("input", function () {
      original.value = box.value; // a name or code typed without choosing: the server resolves it
      if (crumb) crumb.hidden = true;
      clearTimeout(timer);
      var text = box.value.trim();
      timer = setTimeout(function () { load(text ? { q: text } : {}); }, 200);
    });
    box.addEventListener("keydown", function (event) {
      var open = !listbox.hidden;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) {
          var text = box.value.trim();
          load(original.value && /^\d+$/.test(original.value) ? { parent: original.value } : text ? { q: text } : {});
        } else {
          highlight(Math.min(active + 1, results.length - 1));
        }
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault(); // choose, do not submit the form
        choose(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      } else if (event.key === "Tab") {
        close();
      }
    });
    box.addEventListener("focus", function () {
      if (!box.value.trim()) load({});
    });
    listbox.addEventListener("mousedown", function (event) { event.preventDefault(); }); // keep focus
    box.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  function init() {
    document.querySelectorAll("input[data-region-picker]").forEach(setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
