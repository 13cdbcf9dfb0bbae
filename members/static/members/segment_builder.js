/* Segment rule builder: edits the hidden rule JSON (#id_definition) as nested groups of
 * conditions, and shows the live count, a sample of members and the summary sentence. */
(function () {
  "use strict";

  const textarea = document.getElementById("id_definition");
  const optionsNode = document.getElementById("segment-builder-options");
  if (!textarea || !optionsNode) return;
  const OPTIONS = JSON.parse(optionsNode.textContent);
  const CONFIG = JSON.parse(document.getElementById("segment-builder-config").textContent);
  const T = OPTIONS.text;
  const channelSelect = document.getElementById("id_channel");

  const DEFAULTS = {
    gender: () => ({ values: [] }),
    age: () => ({ op: "between", value: 20, value2: 29 }),
    birthday_month: () => ({ values: [] }),
    prefecture: () => ({ values: [] }),
    rank: () => ({ values: [] }),
    points: () => ({ op: "gte", value: 0 }),
    attribute: () => ({ key: "", value_type: "string", op: "eq", value: "" }),
    tags: () => ({ match: "any", tags: [] }),
    friend_status: () => ({ values: ["friend"] }),
    link: () => ({ linked: true, methods: [] }),
    followed: () => ({ field: "followed_at", op: "within_days", value: 30 }),
    language: () => ({ values: ["ja"] }),
    event: () => ({
      kind: "purchase", name: "", name_match: "exact", days: 30,
      measure: "count", op: "gte", value: 1,
    }),
    event_followup: () => ({
      kind: "cart_add", name: "", days: 7, then_kind: "purchase", then_name: "",
      within_hours: 24, happened: false,
    }),
    wrote: () => ({ days: 30, happened: true }),
    received_campaign: () => ({ campaign: "", happened: true }),
    clicked: () => ({ campaign: null, days: 30, happened: true }),
    rich_menu_tap: () => ({ rich_menu: null, area: null, days: 30, op: "gte", value: 1 }),
    segment: () => ({ segment: null, member: true }),
    audience: () => ({ audience: null, member: true }),
  };

  let state;
  try {
    state = JSON.parse(textarea.value);
  } catch (error) {
    state = null;
  }
  if (!state || typeof state !== "object" || !state.root) {
    state = { version: 1, root: { type: "group", op: "and", rules: [] } };
  }

  // ---------------------------------------------------------------- small DOM helpers
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null) node.setAttribute(key, value);
    });
    (children || []).forEach((child) => child && node.append(child));
    return node;
  }

  function channelId() {
    return channelSelect ? channelSelect.value : "";
  }

  function forChannel(items) {
    // Only the chosen channel's tags, segments and audiences; never the segment itself.
    const channel = channelId();
    return items.filter(
      (item) =>
        (!channel || String(item.channel) === channel) &&
        !(items === OPTIONS.segments && item.value === CONFIG.segment)
    );
  }

  function asNumber(text) {
    if (text === "") return "";
    const number = Number(text);
    return Number.isFinite(number) ? number : text;
  }

  function select(node, key, choices, { numeric = false, label } = {}) {
    const input = el("select", { "aria-label": label || key, "data-key": key }, [
      ...choices.map((choice) => {
        const option = el("option", { value: String(choice.value), text: choice.label });
        if (String(node[key]) === String(choice.value)) option.selected = true;
        return option;
      }),
    ]);
    input.addEventListener("change", () => {
      node[key] = numeric ? asNumber(input.value) : input.value;
      changed(true);
    });
    return input;
  }

  function pick(node, key, choices, label, { blank = "---------", rerender = false } = {}) {
    // A single choice among objects (segments, audiences, tags) that starts unset (null;
    // for some conditions unset means "any", which ``blank`` then says).
    const input = el("select", { "aria-label": label || key, "data-key": key }, [
      el("option", { value: "", text: blank }),
      ...choices.map((choice) => {
        const option = el("option", { value: String(choice.value), text: choice.label });
        if (String(node[key]) === String(choice.value)) option.selected = true;
        return option;
      }),
    ]);
    input.addEventListener("change", () => {
      node[key] = input.value ? Number(input.value) : null;
      changed(rerender);
    });
    return input;
  }

  function bool(node, key, yes, no) {
    // Some editors show more fields for one answer (ID-linked: which methods), so re-render.
    const field = el("select", { "aria-label": key, "data-key": key }, [
      el("option", { value: "1", text: yes }),
      el("option", { value: "", text: no }),
    ]);
    field.value = node[key] ? "1" : "";
    field.addEventListener("change", () => {
      node[key] = field.value === "1";
      changed(true);
    });
    return field;
  }

  function input(node, key, { type = "text", numeric = false, size = 8, label, placeholder } = {}) {
    const field = el("input", {
      type,
      size: String(size),
      placeholder,
      "aria-label": label || key,
      "data-key": key,
      class: "sb-input",
    });
    field.value = node[key] === undefined || node[key] === null ? "" : node[key];
    field.addEventListener("input", () => {
      node[key] = numeric ? asNumber(field.value.trim()) : field.value;
      changed(false);
    });
    return field;
  }

  function checks(node, key, choices, { numeric = false } = {}) {
    const values = node[key] || (node[key] = []);
    return el(
      "span",
      { class: "sb-checks" },
      choices.map((choice) => {
        const box = el("input", { type: "checkbox", value: String(choice.value) });
        box.checked = values.map(String).includes(String(choice.value));
        box.addEventListener("change", () => {
          const value = numeric ? Number(choice.value) : choice.value;
          const index = node[key].map(String).indexOf(String(choice.value));
          if (box.checked && index < 0) node[key].push(value);
          if (!box.checked && index >= 0) node[key].splice(index, 1);
          changed(false);
        });
        return el("label", { class: "sb-check" }, [box, document.createTextNode(choice.label)]);
      })
    );
  }

  function multi(node, key, choices, label) {
    const values = (node[key] || (node[key] = [])).map(String);
    const list = el(
      "select",
      { multiple: "multiple", size: "5", "aria-label": label || key, "data-key": key },
      choices.map((choice) => {
        const option = el("option", { value: String(choice.value), text: choice.label });
        option.selected = values.includes(String(choice.value));
        return option;
      })
    );
    list.addEventListener("change", () => {
      node[key] = Array.from(list.selectedOptions).map((option) => Number(option.value));
      changed(false);
    });
    return list;
  }

  function opChoices(ops) {
    return ops.map((op) => ({ value: op, label: OPTIONS.ops[op] }));
  }

  function comparison(node, ops, label) {
    const parts = [select(node, "op", opChoices(ops), { label: label + " op" }), input(node, "value", { numeric: true, size: 6, label })];
    if (node.op === "between") {
      parts.push(document.createTextNode(" " + T.and + " "));
      parts.push(input(node, "value2", { numeric: true, size: 6, label: label + " 2" }));
    }
    return parts;
  }

  function text(value) {
    return document.createTextNode(" " + value + " ");
  }

  // ---------------------------------------------------------------- editors per condition
  const EDITORS = {
    gender: (n) => [checks(n, "values", OPTIONS.genders)],
    age: (n) => comparison(n, ["eq", "gt", "gte", "lt", "lte", "between"], "age"),
    birthday_month: (n) => [checks(n, "values", OPTIONS.months, { numeric: true })],
    prefecture: (n) => [multi(n, "values", OPTIONS.prefectures, "prefectures")],
    rank: (n) => [checks(n, "values", OPTIONS.ranks)],
    points: (n) => comparison(n, ["eq", "ne", "gt", "gte", "lt", "lte", "between"], "points"),
    attribute: (n) => {
      const parts = [
        input(n, "key", { size: 12, label: T.key }),
        select(n, "value_type", OPTIONS.valueTypes, { label: "type" }),
      ];
      const ops = {
        string: ["eq", "ne", "contains", "exists", "not_exists"],
        number: ["eq", "ne", "gt", "gte", "lt", "lte", "exists", "not_exists"],
        boolean: ["eq", "ne", "exists", "not_exists"],
        date: ["eq", "ne", "gt", "gte", "lt", "lte", "exists", "not_exists"],
      }[n.value_type] || [];
      if (!ops.includes(n.op)) n.op = ops[0];
      parts.push(select(n, "op", opChoices(ops), { label: "attribute op" }));
      if (n.op !== "exists" && n.op !== "not_exists") {
        if (n.value_type === "boolean") {
          if (typeof n.value !== "boolean") n.value = true;
          parts.push(bool(n, "value", T.yes, T.no));
        } else if (n.value_type === "date") {
          parts.push(input(n, "value", { type: "date", label: "attribute value" }));
        } else {
          parts.push(input(n, "value", { numeric: n.value_type === "number", size: 12, label: "attribute value" }));
        }
      }
      return parts;
    },
    tags: (n) => [
      select(n, "match", [
        { value: "any", label: T.matchAny },
        { value: "all", label: T.matchAll },
        { value: "none", label: T.matchNone },
      ]),
      multi(n, "tags", forChannel(OPTIONS.tags), "tags"),
    ],
    friend_status: (n) => [checks(n, "values", OPTIONS.friendStatuses)],
    link: (n) => {
      const parts = [bool(n, "linked", T.linked, T.notLinked)];
      if (n.linked) parts.push(text(T.anyMethod), checks(n, "methods", OPTIONS.linkMethods));
      return parts;
    },
    followed: (n) => {
      const parts = [
        select(n, "field", [
          { value: "followed_at", label: T.followedAt },
          { value: "first_followed_at", label: T.firstFollowedAt },
        ]),
        select(n, "op", [
          { value: "within_days", label: T.withinDays },
          { value: "before", label: T.before },
          { value: "after", label: T.after },
          { value: "between", label: T.between },
        ]),
      ];
      if (n.op === "within_days") {
        if (typeof n.value !== "number") n.value = 30;
        parts.push(input(n, "value", { numeric: true, size: 4, label: T.days }), text(T.days));
      } else {
        if (typeof n.value === "number") n.value = "";
        parts.push(input(n, "value", { type: "date", label: "date" }));
        if (n.op === "between") parts.push(text(T.and), input(n, "value2", { type: "date", label: "date 2" }));
      }
      return parts;
    },
    language: (n) => [checks(n, "values", OPTIONS.languages)],
    event: (n) => {
      const parts = [
        select(n, "kind", OPTIONS.eventKinds, { label: "event kind" }),
        select(n, "name_match", [
          { value: "exact", label: T.exact },
          { value: "prefix", label: T.prefix },
        ]),
        input(n, "name", { size: 14, label: T.name }),
        text(T.inLast),
        input(n, "days", { numeric: true, size: 4, label: T.daysZero }),
        text(T.daysZero),
        select(n, "measure", [
          { value: "count", label: T.count },
          { value: "sum", label: T.sum },
        ]),
        ...comparison(n, ["gte", "gt", "eq", "lte", "lt"], "event"),
      ];
      return parts;
    },
    event_followup: (n) => [
      select(n, "kind", OPTIONS.eventKinds, { label: "event kind" }),
      input(n, "name", { size: 12, label: T.name }),
      text(T.inLast),
      input(n, "days", { numeric: true, size: 4, label: T.days }),
      text(T.days),
      bool(n, "happened", T.thenYes, T.thenNo),
      select(n, "then_kind", OPTIONS.eventKinds, { label: "then kind" }),
      input(n, "then_name", { size: 12, label: T.name }),
      text(T.within),
      input(n, "within_hours", { numeric: true, size: 4, label: T.hours }),
      text(T.hours),
    ],
    wrote: (n) => [
      bool(n, "happened", T.wrote, T.notWrote),
      text(T.inLast),
      input(n, "days", { numeric: true, size: 4, label: T.days }),
      text(T.days),
    ],
    received_campaign: (n) => [
      bool(n, "happened", T.received, T.notReceived),
      input(n, "campaign", { numeric: true, size: 6, label: T.campaignId }),
    ],
    clicked: (n) => [
      bool(n, "happened", T.clicked, T.notClicked),
      text(T.linkInCampaign),
      input(n, "campaign", {
        numeric: true, size: 6, label: T.campaignIdAny, placeholder: T.anyCampaign,
      }),
      text(T.inLast),
      input(n, "days", { numeric: true, size: 4, label: T.daysZero }),
      text(T.daysZero),
    ],
    rich_menu_tap: (n) => {
      const menus = forChannel(OPTIONS.richMenus);
      const menu = menus.find((item) => item.value === n.rich_menu);
      if (n.rich_menu !== null && n.rich_menu !== undefined && !menu) {
        // Another channel's (or a deleted) menu: show it, so the error beside it makes sense.
        menus.push({ value: n.rich_menu, label: "#" + n.rich_menu, areas: [] });
      }
      // A chosen menu offers its own areas (labelled by their actions); otherwise 1 to 20.
      const areas = (menu && menu.areas.length ? menu.areas : OPTIONS.richMenuAreas).slice();
      if (n.area !== null && n.area !== undefined && !areas.some((a) => a.value === n.area)) {
        areas.push({ value: n.area, label: String(n.area) });
      }
      return [
        text(T.tapped),
        pick(n, "rich_menu", menus, "rich menu", { blank: T.anyRichMenu, rerender: true }),
        pick(n, "area", areas, "area", { blank: T.anyArea }),
        text(T.inLast),
        input(n, "days", { numeric: true, size: 4, label: T.daysZero }),
        text(T.daysZero),
        ...comparison(n, ["gte", "gt", "eq", "lte", "lt"], "taps"),
        text(T.times),
      ];
    },
    segment: (n) => [
      bool(n, "member", T.inside, T.outside),
      pick(n, "segment", forChannel(OPTIONS.segments), "segment"),
    ],
    audience: (n) => [
      bool(n, "member", T.inside, T.outside),
      pick(n, "audience", forChannel(OPTIONS.audiences), "audience"),
    ],
  };

  // ---------------------------------------------------------------- tree rendering
  const builder = el("div", { class: "segment-builder", id: "segment-builder" });
  const preview = el("div", { class: "segment-preview", id: "segment-preview", "aria-live": "polite" });

  function renderCondition(node, path, parent) {
    const types = OPTIONS.types;
    const typeSelect = el(
      "select",
      { class: "sb-type", "aria-label": "condition" },
      types.map((choice) => {
        const option = el("option", { value: choice.value, text: choice.label });
        option.selected = choice.value === node.type;
        return option;
      })
    );
    typeSelect.addEventListener("change", () => {
      Object.keys(node).forEach((key) => delete node[key]);
      Object.assign(node, { type: typeSelect.value }, DEFAULTS[typeSelect.value]());
      changed(true);
    });
    const editor = EDITORS[node.type] ? EDITORS[node.type](node) : [];
    return el("li", { class: "sb-rule", "data-path": path }, [
      typeSelect,
      el("span", { class: "sb-fields" }, editor),
      removeButton(parent, node),
      el("div", { class: "sb-error" }),
    ]);
  }

  function removeButton(parent, node) {
    return el("button", {
      type: "button",
      class: "sb-remove",
      title: T.remove,
      "aria-label": T.remove,
      text: "×",
      onclick: () => {
        parent.rules.splice(parent.rules.indexOf(node), 1);
        changed(true);
      },
    });
  }

  function renderGroup(node, path, parent) {
    const head = el("div", { class: "sb-group-head" }, [
      el("span", { text: T.groupIntro }),
      select(node, "op", [
        { value: "and", label: T.all },
        { value: "or", label: T.any },
        { value: "not", label: T.none },
      ], { label: "group op" }),
      parent ? removeButton(parent, node) : null,
    ]);
    const rules = el(
      "ol",
      { class: "sb-rules" },
      (node.rules || []).map((child, index) => {
        const childPath = `${path}.rules[${index}]`;
        return child.type === "group"
          ? el("li", { class: "sb-nested", "data-path": childPath }, [renderGroup(child, childPath, node)])
          : renderCondition(child, childPath, node);
      })
    );
    const actions = el("div", { class: "sb-group-actions" }, [
      el("button", {
        type: "button",
        class: "sb-add-rule",
        text: T.addRule,
        onclick: () => {
          node.rules.push({ type: "friend_status", ...DEFAULTS.friend_status() });
          changed(true);
        },
      }),
      el("button", {
        type: "button",
        class: "sb-add-group",
        text: T.addGroup,
        onclick: () => {
          node.rules.push({ type: "group", op: "or", rules: [{ type: "rank", ...DEFAULTS.rank() }] });
          changed(true);
        },
      }),
    ]);
    return el("div", { class: "sb-group", "data-path": path }, [
      head,
      rules,
      el("div", { class: "sb-error" }),
      actions,
    ]);
  }

  function render() {
    builder.replaceChildren(renderGroup(state.root, "root", null));
  }

  // ---------------------------------------------------------------- sync and live preview
  let timer = null;
  let sequence = 0;

  function changed(rerender) {
    textarea.value = JSON.stringify(state, null, 2);
    if (rerender) render();
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function showErrors(errors) {
    builder.querySelectorAll(".sb-error").forEach((node) => (node.textContent = ""));
    builder.querySelectorAll(".sb-invalid").forEach((node) => node.classList.remove("sb-invalid"));
    const general = [];
    errors.forEach((message) => {
      const match = /^(root(?:\.rules\[\d+\])*): (.*)$/.exec(message);
      const target = match && builder.querySelector(`[data-path="${match[1]}"]`);
      if (target) {
        target.classList.add("sb-invalid");
        const slot = target.querySelector(":scope > .sb-error") ||
          target.querySelector(".sb-error");
        slot.textContent = (slot.textContent ? slot.textContent + " " : "") + match[2];
      } else {
        general.push(message);
      }
    });
    return general;
  }

  async function refresh() {
    if (!channelId()) {
      preview.replaceChildren(el("p", { class: "sb-note", text: T.chooseChannel }));
      return;
    }
    const mine = ++sequence;
    preview.classList.add("sb-loading");
    const count = preview.querySelector(".sb-count");
    if (count) count.textContent = T.counting;
    let answer;
    try {
      const response = await fetch(CONFIG.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ channel: channelId(), segment: CONFIG.segment, definition: state }),
      });
      answer = await response.json();
    } catch (error) {
      answer = { errors: [String(error)] };
    }
    if (mine !== sequence) return; // a newer edit is on its way
    preview.classList.remove("sb-loading");
    const general = showErrors(answer.errors || []);
    if (answer.errors) {
      preview.replaceChildren(
        el("p", { class: "sb-count sb-count-invalid", text: "—" }),
        el("ul", { class: "errorlist" }, general.map((message) => el("li", { text: message })))
      );
      return;
    }
    const sample = answer.sample.length
      ? el("table", { class: "sb-sample" }, [
          el("tbody", {}, answer.sample.map((member) =>
            el("tr", {}, [
              el("td", {}, [el("a", { href: member.url, text: member.name })]),
              el("td", { text: member.friendStatus }),
              el("td", { text: member.rank }),
              el("td", { class: "sb-number", text: String(member.points) }),
            ])
          )),
        ])
      : el("p", { class: "sb-note", text: T.noSample });
    preview.replaceChildren(
      el("p", { class: "sb-count", "data-count": String(answer.count), text: answer.countText }),
      el("p", { class: "sb-summary", text: answer.summary }),
      el("h3", { text: T.sample }),
      sample
    );
  }

  // ---------------------------------------------------------------- mount
  const toggle = el("button", {
    type: "button",
    class: "sb-json-toggle",
    text: T.rawJson,
    onclick: () => textarea.classList.toggle("sb-hidden"),
  });
  textarea.classList.add("sb-hidden");
  textarea.addEventListener("change", () => {
    try {
      state = JSON.parse(textarea.value);
      render();
      changed(false);
    } catch (error) {
      showErrors([String(error)]);
    }
  });
  const panel = el("div", { class: "segment-editor" }, [
    el("div", { class: "segment-builder-column" }, [builder, toggle]),
    preview,
  ]);
  textarea.parentNode.insertBefore(panel, textarea);
  if (channelSelect) channelSelect.addEventListener("change", () => changed(true));
  render();
  changed(false);
})();
