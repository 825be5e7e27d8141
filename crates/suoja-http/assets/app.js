// Suoja's progressive enhancement. Every page works without this file; it adds redaction by
// selecting text, drafts that survive an expired session, confirmations and double-submit
// guards. No network requests of its own.
(function () {
  "use strict";

  // Confirm before irreversible actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        e.preventDefault();
        e.stopImmediatePropagation();
      }
    });
  });

  // A form is sent once: its buttons are disabled after the first submit.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
          b.disabled = true;
        });
      }, 0);
    });
  });

  // Drafts: a composer's text is kept in this browser until the server confirms it was posted,
  // so a reply written while the session expired is there again after signing in.
  var params = new URLSearchParams(window.location.search);
  document.querySelectorAll("textarea[data-draft]").forEach(function (area) {
    var key = "suoja-draft:" + area.getAttribute("data-draft");
    try {
      if (params.has("posted")) {
        window.localStorage.removeItem(key);
      } else if (!area.value) {
        var saved = window.localStorage.getItem(key);
        if (saved) {
          area.value = saved;
        }
      }
      area.addEventListener("input", function () {
        if (area.value) {
          window.localStorage.setItem(key, area.value);
        } else {
          window.localStorage.removeItem(key);
        }
      });
    } catch (err) {
      // Storage may be disabled; the composer still works.
    }
  });

  // Signing out takes this browser's drafts with it (the server also asks the browser to clear
  // the site's storage).
  document.querySelectorAll('form[action="/signout"], form[action="/signout/everywhere"]').forEach(function (form) {
    form.addEventListener("submit", function () {
      try {
        for (var i = window.localStorage.length - 1; i >= 0; i--) {
          var k = window.localStorage.key(i);
          if (k && k.indexOf("suoja-draft:") === 0) {
            window.localStorage.removeItem(k);
          }
        }
      } catch (err) {
        // Storage may be disabled.
      }
    });
  });

  // Redaction by selecting text in a comment: the selection is shown in a dialog and sent only
  // when the agent confirms.
  var dialog = document.getElementById("redact-dialog");
  if (dialog && typeof dialog.showModal === "function") {
    var preview = document.getElementById("redact-preview");
    var form = document.getElementById("redact-form");
    var input = document.getElementById("redact-text");
    var floating = document.createElement("button");
    floating.type = "button";
    floating.className = "redact-floating";
    floating.textContent = dialog.getAttribute("data-button");
    floating.hidden = true;
    document.body.appendChild(floating);
    var target = null;

    var pick = function () {
      var sel = window.getSelection();
      var text = sel ? sel.toString() : "";
      var body = null;
      if (sel && sel.rangeCount > 0 && text.trim()) {
        var node = sel.getRangeAt(0).commonAncestorContainer;
        body = (node.nodeType === 1 ? node : node.parentElement).closest("[data-redact-url]");
      }
      if (!body) {
        floating.hidden = true;
        return;
      }
      target = { url: body.getAttribute("data-redact-url"), text: text };
      var rect = sel.getRangeAt(0).getBoundingClientRect();
      floating.style.top = window.scrollY + rect.bottom + 6 + "px";
      floating.style.left = window.scrollX + rect.left + "px";
      floating.hidden = false;
    };
    document.addEventListener("mouseup", function (e) {
      if (e.target !== floating) {
        window.setTimeout(pick, 0);
      }
    });
    document.addEventListener("keyup", function (e) {
      if (e.shiftKey || e.key === "Shift") {
        pick();
      }
    });
    floating.addEventListener("click", function () {
      if (!target) {
        return;
      }
      form.setAttribute("action", target.url);
      input.value = target.text;
      preview.textContent = target.text;
      floating.hidden = true;
      dialog.showModal();
    });
    document.getElementById("redact-cancel").addEventListener("click", function () {
      dialog.close();
    });
  }
})();
