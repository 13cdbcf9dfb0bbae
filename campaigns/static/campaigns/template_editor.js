/* Message template editor: the messages JSON is checked on the server as you type (debounced),
 * problems are listed with their JSON paths (click one to jump to it), and the phone preview
 * shows the messages rendered by linebot.preview, personalised for a sample or chosen member.
 */
(function () {
  "use strict";

  function start() {
    var root = document.getElementById("template-editor");
    var configNode = document.getElementById("template-editor-config");
    var textarea = document.getElementById("id_messages");
    if (!root || !configNode || !textarea) { return; }
    var config = JSON.parse(configNode.textContent);
    var texts = config.texts;
    var csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";

    // Move the messages field (label, errors from the last save, help) into the editor, next
    // to the preview.
    var row = textarea.closest(".form-row") || textarea.parentNode;
    var slot = document.getElementById("te-editor-slot");
    row.parentNode.insertBefore(root, row);
    var label = row.querySelector("label");
    if (label) { label.htmlFor = "id_messages"; slot.appendChild(label); }
    row.querySelectorAll(".errorlist").forEach(function (node) { slot.appendChild(node); });
    slot.appendChild(textarea);
    row.querySelectorAll(".help").forEach(function (node) { slot.appendChild(node); });
    row.hidden = true;
    root.hidden = false;

    var preview = document.getElementById("te-preview");
    var status = document.getElementById("te-status");
    var problemList = document.getElementById("te-problems");
    var memberInput = document.getElementById("te-member");
    var memberOptions = document.getElementById("te-member-options");
    var dataInput = document.getElementById("te-data");
    var members = {};   // label -> id, from the last search
    var timer = null;
    var sequence = 0;

    // PostgreSQL stores JSON objects with their keys sorted by length; show "type" first again.
    function pretty(value) {
      return JSON.stringify(value, function (key, item) {
        if (!item || typeof item !== "object" || Array.isArray(item) || !("type" in item)) { return item; }
        var ordered = { type: item.type };
        Object.keys(item).forEach(function (name) { ordered[name] = item[name]; });
        return ordered;
      }, 2);
    }

    function post(url, body) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().then(function (json) { return { ok: response.ok, json: json }; });
      });
    }

    function perSendData() {
      if (!dataInput) { return {}; }
      try {
        var value = JSON.parse(dataInput.value || "{}");
        dataInput.classList.remove("te-invalid");
        return value && typeof value === "object" && !Array.isArray(value) ? value : {};
      } catch (error) {
        dataInput.classList.add("te-invalid");
        return {};
      }
    }

    function chosenMember() { return memberInput ? members[memberInput.value] || null : null; }

    function setStatus(text, kind) {
      status.textContent = text;
      status.className = "te-status" + (kind ? " te-" + kind : "");
    }

    function showProblems(problems) {
      problemList.textContent = "";
      problems.forEach(function (item) {
        var li = document.createElement("li");
        li.setAttribute("data-path", item.path);
        var code = document.createElement("code");
        code.textContent = item.path;
        li.appendChild(code);
        li.appendChild(document.createTextNode(item.message));
        li.addEventListener("click", function () {
          if (item.position !== undefined) {
            textarea.focus();
            textarea.setSelectionRange(item.position, item.position + 1);
          } else {
            jumpToPath(item.path);
          }
        });
        problemList.appendChild(li);
      });
    }

    function showVariables(values) {
      var table = document.getElementById("te-variables");
      if (!table) { return; }
      var body = table.querySelector("tbody");
      body.textContent = "";
      Object.keys(values || {}).forEach(function (name) {
        var row = body.insertRow();
        var key = document.createElement("code");
        key.textContent = name;
        row.insertCell().appendChild(key);
        row.insertCell().textContent = values[name] === "" ? "—" : values[name];
      });
      table.hidden = !body.rows.length;
    }

    function check() {
      var mine = ++sequence;
      preview.classList.add("te-stale");
      setStatus(texts.checking, "");
      post(config.checkUrl, { text: textarea.value, member: chosenMember(), data: perSendData(), personalized: config.personalized })
        .then(function (answer) {
          if (mine !== sequence) { return; }
          var result = answer.json;
          preview.classList.remove("te-stale");
          if (result.syntax_error) {
            var error = result.syntax_error;
            textarea.classList.add("te-invalid");
            setStatus(error.message, "error");
            showProblems([{ path: "JSON", message: error.message, position: error.position }]);
            return;  // keep the last good preview while the JSON is being typed
          }
          preview.innerHTML = result.html;  // escaped HTML from linebot.preview
          showVariables(result.variables);
          textarea.classList.toggle("te-invalid", !result.valid);
          showProblems(result.problems);
          setStatus(result.valid ? texts.valid : texts.problems, result.valid ? "ok" : "error");
        })
        .catch(function () { if (mine === sequence) { setStatus(texts.failed, "error"); } });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(check, 300);
    }

    // Where a JSON path ("messages[0].contents.body") starts in the text: a small scanner that
    // follows the path through objects and arrays without building the whole value.
    function jumpToPath(path) {
      var steps = [];
      path.replace(/^messages/, "").replace(/\.([^.[\]]+)|\[(\d+)\]/g, function (_, key, index) {
        steps.push(key !== undefined ? key : Number(index));
      });
      var text = textarea.value;
      var at = 0;
      function space() { while (at < text.length && /\s/.test(text[at])) { at++; } }
      function skipString() { at++; while (at < text.length && text[at] !== '"') { at += text[at] === "\\" ? 2 : 1; } at++; }
      function skipValue() {
        space();
        var open = text[at];
        if (open === '"') { skipString(); return; }
        if (open === "{" || open === "[") {
          var depth = 0;
          while (at < text.length) {
            var c = text[at];
            if (c === '"') { skipString(); continue; }
            if (c === "{" || c === "[") { depth++; }
            if (c === "}" || c === "]") { depth--; if (depth === 0) { at++; return; } }
            at++;
          }
          return;
        }
        while (at < text.length && !/[,}\]\s]/.test(text[at])) { at++; }
      }
      function find(step) {
        space();
        if (typeof step === "number" && text[at] === "[") {
          at++;
          for (var i = 0; i < step; i++) { skipValue(); space(); if (text[at] !== ",") { return false; } at++; }
          space();
          return true;
        }
        if (typeof step === "string" && text[at] === "{") {
          at++;
          while (at < text.length) {
            space();
            if (text[at] !== '"') { return false; }
            var keyStart = at;
            skipString();
            var key = JSON.parse(text.slice(keyStart, at));
            space(); at++;  // the colon
            space();
            if (key === step) { return true; }
            skipValue(); space();
            if (text[at] !== ",") { return false; }
            at++;
          }
        }
        return false;
      }
      var start = 0;
      for (var s = 0; s < steps.length; s++) {
        if (!find(steps[s])) { break; }
        start = at;
      }
      at = start;
      skipValue();
      textarea.focus();
      textarea.setSelectionRange(start, Math.max(at, start + 1));
      var line = text.slice(0, start).split("\n").length;
      textarea.scrollTop = Math.max(0, (line - 5) * 19);
    }

    function insertStarter() {
      var key = document.getElementById("te-starter").value;
      var starter = config.starters.filter(function (item) { return item.key === key; })[0];
      if (!starter) { return; }
      var current;
      try { current = JSON.parse(textarea.value || "[]"); } catch (error) { current = null; }
      if (!Array.isArray(current)) {
        if (!window.confirm(texts.replace)) { return; }
        current = [];
      }
      if (current.length >= 5) { window.alert(texts.full); return; }
      current.push(starter.message);
      textarea.value = pretty(current);
      check();
    }

    function searchMembers() {
      var query = memberInput.value.trim();
      if (members[memberInput.value] !== undefined || !query) { schedule(); return; }
      var channel = document.getElementById("id_channel");
      var url = config.membersUrl + "?q=" + encodeURIComponent(query) +
        (channel && channel.value ? "&channel=" + encodeURIComponent(channel.value) : "");
      fetch(url, { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          memberOptions.textContent = "";
          answer.results.forEach(function (member) {
            members[member.label] = member.id;
            var option = document.createElement("option");
            option.value = member.label;
            memberOptions.appendChild(option);
          });
        });
    }

    function sendTest() {
      var result = document.getElementById("te-test-result");
      var recipient = document.getElementById("te-recipient").value;
      result.className = "te-test-result";
      result.textContent = texts.checking;
      post(config.sendTestUrl, { text: textarea.value, recipient: recipient, data: perSendData(), personalized: config.personalized })
        .then(function (answer) {
          var json = answer.json;
          result.className = "te-test-result " + (answer.ok ? "te-ok" : "te-error");
          result.textContent = answer.ok ? json.message : json.error;
          if (json.problems && json.problems.length) { showProblems(json.problems); }
        })
        .catch(function () { result.className = "te-test-result te-error"; result.textContent = texts.failed; });
    }

    textarea.addEventListener("input", schedule);
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Tab" && !event.shiftKey) {
        event.preventDefault();
        textarea.setRangeText("  ", textarea.selectionStart, textarea.selectionEnd, "end");
        schedule();
      }
    });
    if (dataInput) { dataInput.addEventListener("input", schedule); }
    if (memberInput) {
      memberInput.addEventListener("input", searchMembers);
      memberInput.addEventListener("change", schedule);
    }
    document.getElementById("te-insert").addEventListener("click", insertStarter);
    document.getElementById("te-send-test").addEventListener("click", sendTest);
    document.getElementById("te-format").addEventListener("click", function () {
      try { textarea.value = pretty(JSON.parse(textarea.value)); check(); } catch (error) { check(); }
    });
    // Taps in the preview must not navigate away from the form.
    preview.addEventListener("click", function (event) {
      if (event.target.closest("a")) { event.preventDefault(); }
    });
    if (!textarea.value.trim() || textarea.value.trim() === "null") {
      var greeting = config.personalized ? "Hello {{ member.display_name }}!" : "Hello!";
      textarea.value = pretty([{ type: "text", text: greeting }]);
    } else {
      try { textarea.value = pretty(JSON.parse(textarea.value)); } catch (error) { /* keep as typed */ }
    }
    check();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
