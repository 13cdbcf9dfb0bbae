/* The rich menu area editor: rectangles over the menu image, each with a LINE action, kept in
   the hidden `areas` field as LINE's area JSON; and a preview as the LINE app shows the menu. */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("richmenu-editor-config").textContent);
  const t = JSON.parse(document.getElementById("richmenu-editor-labels").textContent);
  const root = document.getElementById("richmenu-editor");
  const field = document.getElementById("id_areas");
  const imageInput = document.getElementById("id_image");
  const channelInput = document.getElementById("id_channel");
  const chatBarInput = document.getElementById("id_chat_bar_text");
  const selectedInput = document.getElementById("id_selected");
  const part = (name) => root.querySelector(`[data-role="${name}"]`);
  const stage = part("stage");
  const overlay = part("overlay");
  const image = part("image");
  const panel = part("panel");
  const MIN_SIZE = 20;

  let size = { width: config.width, height: config.height };
  let areas = [];
  try {
    const parsed = JSON.parse(field.value || "[]");
    areas = Array.isArray(parsed) ? parsed : [];
  } catch (error) {
    areas = [];
  }
  let selected = areas.length ? 0 : -1;
  let menuOpen = selectedInput ? selectedInput.checked : true;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    });
    (children || []).forEach((child) => child && node.appendChild(child));
    return node;
  }

  const clamp = (value, low, high) => Math.max(low, Math.min(high, value));

  function save() {
    field.value = JSON.stringify(areas);
    render();
  }

  function summary(action) {
    const kind = config.actionTypes.find((item) => item.value === action.type);
    const what = action.data || action.uri || action.text || action.richMenuAliasId || action.clipboardText || "";
    return `${kind ? kind.label : action.type}${what ? ": " + what : ""}`;
  }

  function boxStyle(bounds) {
    return (
      `left:${(bounds.x / size.width) * 100}%;top:${(bounds.y / size.height) * 100}%;` +
      `width:${(bounds.width / size.width) * 100}%;height:${(bounds.height / size.height) * 100}%`
    );
  }

  function pointIn(event) {
    const box = stage.getBoundingClientRect();
    return {
      x: clamp(Math.round(((event.clientX - box.left) / box.width) * size.width), 0, size.width),
      y: clamp(Math.round(((event.clientY - box.top) / box.height) * size.height), 0, size.height),
    };
  }

  // Dragging: move an area, resize it by its corner, or draw a new one on empty space.
  let drag = null;

  function startDrag(event, mode, index) {
    if (event.button !== 0) return;
    event.preventDefault();
    event.stopPropagation();
    const start = pointIn(event);
    if (mode === "draw") {
      if (areas.length >= config.maxAreas) {
        alert(t.tooMany);
        return;
      }
      areas.push({
        bounds: { x: start.x, y: start.y, width: 1, height: 1 },
        action: { type: "postback", data: `area=${areas.length + 1}` },
      });
      index = areas.length - 1;
    }
    selected = index;
    drag = { mode, index, start, original: { ...areas[index].bounds } };
    stage.setPointerCapture && stage.setPointerCapture(event.pointerId);
    render();
  }

  stage.addEventListener("pointerdown", (event) => {
    if (!image.getAttribute("src")) return;
    startDrag(event, "draw", -1);
  });

  stage.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const now = pointIn(event);
    const bounds = areas[drag.index].bounds;
    const o = drag.original;
    if (drag.mode === "move") {
      bounds.x = clamp(o.x + now.x - drag.start.x, 0, size.width - o.width);
      bounds.y = clamp(o.y + now.y - drag.start.y, 0, size.height - o.height);
    } else if (drag.mode === "resize") {
      bounds.width = clamp(o.width + now.x - drag.start.x, 1, size.width - o.x);
      bounds.height = clamp(o.height + now.y - drag.start.y, 1, size.height - o.y);
    } else {
      bounds.x = Math.min(drag.start.x, now.x);
      bounds.y = Math.min(drag.start.y, now.y);
      bounds.width = Math.max(1, Math.abs(now.x - drag.start.x));
      bounds.height = Math.max(1, Math.abs(now.y - drag.start.y));
    }
    renderStage();
  });

  function endDrag() {
    if (!drag) return;
    const bounds = areas[drag.index].bounds;
    if (drag.mode === "draw" && (bounds.width < MIN_SIZE || bounds.height < MIN_SIZE)) {
      areas.splice(drag.index, 1);
      selected = areas.length - 1;
    }
    drag = null;
    save();
  }
  stage.addEventListener("pointerup", endDrag);
  stage.addEventListener("pointercancel", endDrag);

  function renderStage() {
    overlay.replaceChildren(
      ...areas.map((area, index) => {
        const taps = config.taps[String(index + 1)];
        return el(
          "div",
          {
            class: "richmenu-area" + (index === selected ? " selected" : ""),
            style: boxStyle(area.bounds),
            "data-area": String(index + 1),
            title: summary(area.action || {}),
            onpointerdown: (event) => startDrag(event, "move", index),
          },
          [
            el("span", { class: "richmenu-area-number", text: String(index + 1) }),
            el("span", { class: "richmenu-area-label", text: summary(area.action || {}) }),
            taps ? el("span", { class: "richmenu-area-taps", text: `${taps} ${t.taps}` }) : null,
            el("span", {
              class: "richmenu-handle",
              "aria-label": t.resize,
              onpointerdown: (event) => startDrag(event, "resize", index),
            }),
          ]
        );
      })
    );
  }

  // The selected area's settings.
  const FIELDS = {
    postback: [["data", t.data, true], ["displayText", t.displayText], ["label", t.label]],
    message: [["text", t.text, true], ["label", t.label]],
    uri: [["uri", t.uri, true], ["label", t.label]],
    datetimepicker: [
      ["data", t.data, true],
      ["mode", t.mode, true, ["date", "time", "datetime"]],
      ["initial", t.initial],
      ["min", t.min],
      ["max", t.max],
      ["label", t.label],
    ],
    richmenuswitch: [["richMenuAliasId", t.alias, true, "aliases"], ["data", t.data, true], ["label", t.label]],
    clipboard: [["clipboardText", t.clipboardText, true], ["label", t.label]],
    account_link: [["label", t.label], ["displayText", t.displayText]],
  };

  function aliasChoices() {
    const channel = channelInput ? String(channelInput.value) : "";
    return config.aliases
      .filter((alias) => !channel || String(alias.channel) === channel)
      .map((alias) => [alias.id, `${alias.id} (${alias.menu})`]);
  }

  function input(area, key, label, required, choices) {
    const action = area.action;
    const id = `richmenu-action-${key}`;
    let control;
    const update = (event) => {
      if (event.target.value === "") delete action[key];
      else action[key] = event.target.value;
      field.value = JSON.stringify(areas);
      renderStage();
      renderPreview();
    };
    if (choices) {
      const options = choices === "aliases" ? aliasChoices() : choices.map((value) => [value, value]);
      control = el("select", { id, "data-key": key, onchange: update }, [
        el("option", { value: "", text: "—" }),
        ...options.map(([value, text]) => el("option", { value, text, selected: action[key] === value })),
      ]);
    } else {
      control = el("input", { id, type: "text", "data-key": key, value: action[key] || "", oninput: update });
    }
    return el("div", { class: "richmenu-field" }, [
      el("label", { for: id, class: required ? "required" : "", text: label }),
      control,
    ]);
  }

  function boundsInput(area, key) {
    return el("label", { class: "richmenu-bound" }, [
      document.createTextNode(t[key] + " "),
      el("input", {
        type: "number",
        min: "0",
        "data-bound": key,
        value: String(area.bounds[key]),
        onchange: (event) => {
          area.bounds[key] = Math.max(0, parseInt(event.target.value, 10) || 0);
          save();
        },
      }),
    ]);
  }

  function renderPanel() {
    if (selected < 0 || !areas[selected]) {
      panel.replaceChildren(el("p", { class: "help", text: t.noSelection }));
      return;
    }
    const area = areas[selected];
    area.action = area.action || { type: "postback", data: "" };
    const typeSelect = el(
      "select",
      {
        id: "richmenu-action-type",
        "data-key": "type",
        onchange: (event) => {
          const type = event.target.value;
          area.action = { type };
          if (type === "datetimepicker") area.action.mode = "datetime";
          if (type === "postback" || type === "datetimepicker") area.action.data = `area=${selected + 1}`;
          save();
        },
      },
      config.actionTypes.map((item) =>
        el("option", { value: item.value, text: item.label, selected: item.value === area.action.type })
      )
    );
    panel.replaceChildren(
      el("h4", { text: `${t.area} ${selected + 1}` }),
      el("div", { class: "richmenu-bounds" }, ["x", "y", "width", "height"].map((key) => boundsInput(area, key))),
      el("div", { class: "richmenu-field" }, [
        el("label", { for: "richmenu-action-type", class: "required", text: t.action }),
        typeSelect,
      ]),
      ...(FIELDS[area.action.type] || []).map(([key, label, required, choices]) =>
        input(area, key, label, required, choices)
      ),
      el("p", { class: "help", text: t.notHere }),
      el("button", {
        type: "button",
        class: "button richmenu-delete",
        text: t.remove,
        onclick: () => {
          areas.splice(selected, 1);
          selected = Math.min(selected, areas.length - 1);
          save();
        },
      })
    );
  }

  // The preview, as the LINE app shows it: the menu above its chat bar, which opens and closes
  // it. A tab switch (richmenuswitch) shows the aliased menu, and a tap back returns here.
  let previewTab = null;

  function previewMenu() {
    if (previewTab) return previewTab;
    return {
      imageUrl: image.getAttribute("src") || "",
      width: size.width,
      height: size.height,
      chatBarText: (chatBarInput && chatBarInput.value) || t.menu,
      areas,
    };
  }

  function previewTap(action, index) {
    const toast = part("toast");
    toast.textContent = `${t.tapped} ${index + 1}: ${summary(action)}`;
    toast.classList.add("shown");
    if (action.type !== "richmenuswitch") return;
    const alias = config.aliases.find((item) => item.id === action.richMenuAliasId);
    const editing = config.menuId && alias && alias.menuId === config.menuId;
    previewTab = alias && !editing ? alias : null;
    renderPreview();
  }

  function renderPreview() {
    const menu = previewMenu();
    const phoneImage = part("phone-image");
    phoneImage.src = menu.imageUrl;
    const phoneMenu = part("phone-menu");
    phoneMenu.style.display = menuOpen && menu.imageUrl ? "" : "none";
    phoneMenu.style.aspectRatio = `${menu.width} / ${menu.height}`;
    part("bar").textContent = `${menu.chatBarText} ${menuOpen ? "▾" : "▴"}`;
    const box = (bounds) =>
      `left:${(bounds.x / menu.width) * 100}%;top:${(bounds.y / menu.height) * 100}%;` +
      `width:${(bounds.width / menu.width) * 100}%;height:${(bounds.height / menu.height) * 100}%`;
    part("phone-overlay").replaceChildren(
      ...(menu.areas || []).map((area, index) =>
        el("button", {
          type: "button",
          class: "richmenu-phone-area",
          style: box(area.bounds),
          "data-area": String(index + 1),
          "aria-label": summary(area.action || {}),
          onclick: () => previewTap(area.action || {}, index),
        })
      )
    );
  }

  function render() {
    part("size").textContent = `${size.width} × ${size.height} px`;
    part("count").textContent = `${areas.length} / ${config.maxAreas} ${t.areas}`;
    part("empty").style.display = image.getAttribute("src") ? "none" : "";
    stage.style.aspectRatio = `${size.width} / ${size.height}`;
    renderStage();
    renderPanel();
    renderPreview();
  }

  // Templates of LINE's common grids.
  const layoutSelect = part("layout");
  config.layouts.forEach((layout) => layoutSelect.appendChild(el("option", { value: layout.key, text: layout.name })));
  layoutSelect.addEventListener("change", () => {
    const layout = config.layouts.find((item) => item.key === layoutSelect.value);
    layoutSelect.value = "";
    if (!layout || (areas.length && !confirm(t.replace))) return;
    areas = layout.cells.map(([x, y, w, h], index) => {
      const left = Math.round(x * size.width);
      const top = Math.round(y * size.height);
      return {
        bounds: {
          x: left,
          y: top,
          width: Math.round((x + w) * size.width) - left,
          height: Math.round((y + h) * size.height) - top,
        },
        action: { type: "postback", data: `area=${index + 1}` },
      };
    });
    selected = 0;
    save();
  });

  part("add").addEventListener("click", () => {
    if (areas.length >= config.maxAreas) {
      alert(t.tooMany);
      return;
    }
    const width = Math.round(size.width / 3);
    const height = Math.round(size.height / 2);
    areas.push({
      bounds: { x: Math.round((size.width - width) / 2), y: Math.round((size.height - height) / 2), width, height },
      action: { type: "postback", data: `area=${areas.length + 1}` },
    });
    selected = areas.length - 1;
    save();
  });

  part("bar").addEventListener("click", () => {
    menuOpen = !menuOpen;
    renderPreview();
  });
  if (chatBarInput) chatBarInput.addEventListener("input", renderPreview);
  if (selectedInput) {
    selectedInput.addEventListener("change", () => {
      menuOpen = selectedInput.checked;
      renderPreview();
    });
  }
  if (channelInput) channelInput.addEventListener("change", renderPanel);

  // A new image sets the menu's size (LINE needs them equal); areas are scaled to it.
  if (imageInput) {
    imageInput.addEventListener("change", () => {
      const file = imageInput.files && imageInput.files[0];
      if (!file) return;
      const url = URL.createObjectURL(file);
      const probe = new Image();
      probe.onload = () => {
        const sx = probe.naturalWidth / size.width;
        const sy = probe.naturalHeight / size.height;
        areas.forEach((area) => {
          area.bounds = {
            x: Math.round(area.bounds.x * sx),
            y: Math.round(area.bounds.y * sy),
            width: Math.round(area.bounds.width * sx),
            height: Math.round(area.bounds.height * sy),
          };
        });
        size = { width: probe.naturalWidth, height: probe.naturalHeight };
        image.src = url;
        save();
      };
      probe.src = url;
    });
  }

  if (config.imageUrl) image.src = config.imageUrl;
  render();
})();
