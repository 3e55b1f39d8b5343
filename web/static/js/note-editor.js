// The visit note editor: autosave with versions, an offline-safe local draft, live billing units,
// signing and addenda. mountNotePanel(element, appointmentId) works on the note page and as the
// side panel of the video visit room alike.

import { api, ApiError } from "./api.js";

const SAVE_DELAY_MS = 800;
const RETRY_DELAYS_MS = [2000, 5000, 10000, 30000];
const PATIENT_LOCATIONS = [["home", "At home (place of service 10)"], ["other", "Elsewhere, not at home (02)"]];
const NOTE_TYPES = [
  ["initial_evaluation", "Initial evaluation"],
  ["daily", "Daily note"],
  ["progress", "Progress note"],
  ["re_evaluation", "Re-evaluation"],
  ["discharge", "Discharge"],
];
const REGIONS = [
  ["", "—"], ["hip", "Hip"], ["lower_back", "Lower back"], ["pelvis", "Pelvis"],
  ["abdomen", "Abdomen"], ["neck", "Neck"], ["shoulder", "Shoulder"], ["knee", "Knee"],
  ["lower_limb", "Lower limb"], ["upper_limb", "Upper limb"], ["whole_body", "Whole body"],
];
const SIDES = [["none", "—"], ["left", "Left"], ["right", "Right"], ["bilateral", "Both"]];
const DIAGNOSIS_SIDES = [["", "—"], ["left", "Left"], ["right", "Right"], ["bilateral", "Both"]];
const SECTIONS = [
  ["subjective", "Subjective", "What the patient reports"],
  ["objective", "Objective", "Measurements and observations"],
  ["assessment", "Assessment", "Clinical reasoning"],
  ["plan", "Plan", "Next steps and frequency"],
];
const DOSAGE = [
  ["sets", "Sets", 1, 10], ["repetitions", "Reps", 1, 50], ["hold_seconds", "Hold (s)", 0, 120],
  ["per_day", "Per day", 1, 6], ["per_week", "Days/week", 1, 7],
];

let nextId = 0;

/** Build an element: h("p", {class: "x"}, "text", child). Text is always set as text, never HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "value") el.value = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

function options(pairs, selected) {
  return pairs.map(([value, label]) => h("option", { value, selected: value === (selected ?? "") }, label));
}

function toInt(raw) {
  if (raw === "") return null;
  const value = Number(raw);
  // A value that is not a whole number is sent as typed, so the server names the field.
  return Number.isInteger(value) ? value : raw;
}

// What the server fills in for a field the editor left out (NoteContent in telehealth/notes/rules.py).
// Every other optional field defaults to an empty value: null, "", [] or {}.
const FIELD_DEFAULTS = { side: "none", hold_seconds: 0 };

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isEmpty(value) {
  return value === undefined || value === null || value === ""
    || (Array.isArray(value) && value.length === 0)
    || (isPlainObject(value) && Object.keys(value).length === 0);
}

/**
 * Whether two note contents say the same thing. The server answers with its own normal form
 * (keys in schema order, optional fields filled in, parameters without empty values), so text
 * comparison would call equal notes different; this compares structure, key order aside.
 */
function sameContent(a, b, key = "") {
  if (a === undefined && key in FIELD_DEFAULTS) a = FIELD_DEFAULTS[key];
  if (b === undefined && key in FIELD_DEFAULTS) b = FIELD_DEFAULTS[key];
  if (isEmpty(a) && isEmpty(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length
      && a.every((item, i) => sameContent(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => sameContent(a[k], b[k], k));
  }
  if (typeof a === "string" && typeof b === "string") return a.normalize("NFC") === b.normalize("NFC");
  return a === b;
}

/**
 * The content as it is sent: rows whose technique, code or exercise is not chosen yet are left
 * out (a half-added row is not content, and must not stop the rest from saving). `index` maps a
 * sent row's path to the row on screen, so the server's field paths still point at the right field.
 */
function outgoing(content) {
  const sent = structuredClone(content);
  const index = new Map();
  const keep = (list, path, chosen) => {
    const rows = [];
    (list || []).forEach((row, i) => {
      if (!chosen(row)) return;
      index.set(`${path}[${rows.length}]`, `${path}[${i}]`);
      rows.push(row);
    });
    return rows;
  };
  sent.diagnoses = keep(sent.diagnoses, "diagnoses", (d) => d.code);
  sent.home_program = keep(sent.home_program, "home_program", (e) => e.exercise);
  const lines = [];
  (sent.interventions || []).forEach((line, i) => {
    if (!line.technique) return;
    index.set(`interventions[${lines.length}]`, `interventions[${i}]`);
    for (const [name, value] of Object.entries(line.parameters || {})) {
      if (Array.isArray(value) && value.some(isPlainObject)) {
        // Keyed by the row on screen, then the nested row as sent: screenPath translates outside-in.
        line.parameters[name] = keep(value, `interventions[${i}].parameters.${name}`, (e) => e.exercise);
      }
    }
    lines.push(line);
  });
  sent.interventions = lines;
  return { sent, index };
}

/** A server field path ("interventions[0].parameters.exercises[1].sets") as a path on screen. */
function screenPath(path, index) {
  let out = "";
  let rest = path;
  // Translate outer rows first, then the rows nested inside them.
  for (;;) {
    const match = /^(.*?\[\d+\])(.*)$/.exec(rest);
    if (!match) return out + rest;
    const key = out + match[1];
    out = index.get(key) ?? key;
    rest = match[2];
  }
}

const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
const KEYS = IS_MAC
  ? { technique: "Option+T", sign: "⌘+Enter" }
  : { technique: "Alt+T", sign: "Ctrl+Enter" };

const SIDE_WORDS = { left: "left", right: "right", bilateral: "both sides" };
const REGION_WORDS = Object.fromEntries(REGIONS.filter(([value]) => value).map(([value, label]) => [value, label.toLowerCase()]));

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** "1 unit", "2 units". */
function unitsText(units) {
  return plural(units, "unit");
}

/** A dosage in words, as the patient's summary says it (notes/summary.py describe_dosage). */
function describeDosage(d) {
  const parts = [`${plural(d.sets, "set")} of ${plural(d.repetitions, "repetition")}`];
  if (d.hold_seconds) parts.push(`hold each for ${plural(d.hold_seconds, "second")}`);
  parts.push(`${plural(d.per_day, "time")} a day`);
  parts.push(d.per_week === 7 ? "every day" : `${d.per_week} days a week`);
  return parts.join(", ");
}

/** A UTC time in the reader's zone (the page's, else the browser's), with the zone named. */
function readTime(iso, zone) {
  // dateStyle/timeStyle cannot be combined with timeZoneName, so the parts are named one by one.
  const options = {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  };
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: zone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat(undefined, options).format(new Date(iso));
  }
}

class NoteEditor {
  constructor(element, appointmentId) {
    this.root = element;
    this.appointmentId = appointmentId;
    this.storageKey = `th-note-draft:${appointmentId}`;
    this.catalog = null;
    this.note = null;
    this.content = null;
    // The content (as sent) that the server holds as `version`: what "unsaved" is measured from.
    this.baseline = null;
    this.version = 0;
    this.timer = null;
    this.inflight = null; // the save under way, if any
    this.again = false;
    this.attempt = 0;
    this.signing = false;
    this.blocked = false; // a conflict waits for the therapist's choice
    this.onOnline = () => this.scheduleSave(0);
    this.onKey = (event) => this.shortcut(event);
    this.hintId = uid("note-keys");
    window.addEventListener("online", this.onOnline);
    this.root.addEventListener("keydown", this.onKey);
  }

  async start() {
    try {
      const [catalog, note] = await Promise.all([
        api("/catalog"),
        api(`/appointments/${this.appointmentId}/note`, { method: "POST", body: {} }),
      ]);
      this.catalog = catalog;
      this.techniques = new Map(catalog.techniques.map((t) => [t.id, t]));
      this.accept(note);
      if (note.status === "signed") {
        this.clearLocal();
        this.renderSigned();
        return;
      }
      this.content = structuredClone(note.content);
      this.baseline = structuredClone(note.content);
      this.blocked = false;
      this.renderEditor();
      this.restoreLocal();
    } catch (error) {
      this.root.replaceChildren(
        h("p", { class: "alert alert-error", role: "alert" }, this.messageOf(error)),
      );
    }
  }

  destroy() {
    window.removeEventListener("online", this.onOnline);
    this.root.removeEventListener("keydown", this.onKey);
    clearTimeout(this.timer);
  }

  accept(note) {
    this.note = note;
    this.version = note.version;
  }

  messageOf(error) {
    if (error instanceof ApiError) return error.message;
    return "The clinic could not be reached. Check your connection.";
  }

  /** True when the content on screen says something the server does not hold yet. */
  unsaved() {
    return !sameContent(outgoing(this.content).sent, this.baseline);
  }

  // --- local draft: kept until the server confirms the same content ------------------------------

  readLocal() {
    try {
      return JSON.parse(localStorage.getItem(this.storageKey) || "null");
    } catch {
      return null;
    }
  }

  writeLocal() {
    try {
      localStorage.setItem(
        this.storageKey,
        JSON.stringify({ version: this.version, content: this.content, at: new Date().toISOString() }),
      );
    } catch {
      // Storage full or disabled: the server copy is then the only copy; nothing else to do.
    }
  }

  clearLocal() {
    try {
      localStorage.removeItem(this.storageKey);
    } catch {
      // See writeLocal.
    }
  }

  restoreLocal() {
    const local = this.readLocal();
    if (!local || sameContent(outgoing(local.content).sent, this.note.content)) {
      this.clearLocal();
      return;
    }
    if (local.version === this.note.version) {
      // Typed while offline (or the tab closed before saving): pick up where it stopped.
      this.content = local.content;
      this.renderEditor();
      this.setState("saving", "Restoring your unsaved changes…");
      this.scheduleSave(0);
      return;
    }
    // The note moved on elsewhere since this draft was typed: ask, never overwrite silently.
    this.showConflict(
      { version: this.note.version, content: this.note.content },
      local.content,
      "This device kept changes that were never saved, but the note was changed elsewhere since.",
    );
  }

  // --- saving ------------------------------------------------------------------------------------

  changed() {
    this.writeLocal();
    this.setState("saving", "Unsaved changes…");
    this.scheduleSave(SAVE_DELAY_MS);
  }

  scheduleSave(delay) {
    if (this.blocked || !this.content || this.note?.status === "signed") return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(), delay);
  }

  /** Save now; one save at a time (a change during a save is saved right after it). True if saved. */
  save() {
    if (this.inflight) {
      this.again = true;
      return this.inflight;
    }
    this.inflight = this.saveOnce().finally(() => {
      this.inflight = null;
      if (this.again) {
        this.again = false;
        this.scheduleSave(0);
      }
    });
    return this.inflight;
  }

  async saveOnce() {
    if (this.blocked || this.note?.status === "signed") return false;
    const { sent, index } = outgoing(this.content);
    if (sameContent(sent, this.baseline)) {
      this.showState();
      return true;
    }
    this.setState("saving", "Saving…");
    try {
      const note = await api(`/appointments/${this.appointmentId}/note`, {
        method: "PUT",
        body: { version: this.version, content: sent },
      });
      this.attempt = 0;
      this.accept(note);
      // The server holds `sent` in its own normal form now; what was typed since stays unsaved.
      this.baseline = sent;
      this.showErrors([]);
      this.showState();
      this.renderBilling();
      return true;
    } catch (error) {
      this.handleSaveError(error, sent, index);
      return false;
    }
  }

  /** Wait for saves under way and save what is left; true when the server holds what is shown. */
  async flush() {
    for (let round = 0; round < 5; round += 1) {
      clearTimeout(this.timer);
      if (this.inflight) {
        await this.inflight;
        continue;
      }
      if (this.blocked) return false;
      if (!this.unsaved()) return true;
      if (!(await this.save())) return false;
    }
    return !this.blocked && !this.unsaved();
  }

  handleSaveError(error, sent = null, index = new Map()) {
    if (error instanceof ApiError && error.code === "stale_version") {
      const current = error.details.current;
      if (sent && sameContent(sent, current.content)) {
        // The other window saved exactly this: nothing to choose between.
        this.note = { ...this.note, version: current.version, content: current.content };
        this.version = current.version;
        this.baseline = sent;
        this.showState();
        return;
      }
      this.showConflict(current, this.content, "This note was changed in another window or device.");
    } else if (error instanceof ApiError && error.code === "note_locked") {
      this.clearLocal();
      this.start();
    } else if (error instanceof ApiError && error.status === 422) {
      this.showErrors(error.details || [], index);
      this.setState("error", "Not saved yet: please fix the marked fields. Your text is kept on this device.");
    } else if (error instanceof ApiError && error.status < 500 && error.status !== 429) {
      this.setState("error", error.message);
    } else {
      // Offline, a timeout or a server hiccup: the draft is in localStorage; keep trying.
      const delay = RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)];
      this.attempt += 1;
      this.setState("offline", "Offline — will retry");
      this.scheduleSave(delay);
    }
  }

  setState(state, text) {
    if (!this.stateEl) return;
    this.stateEl.dataset.state = state;
    this.stateEl.textContent = text;
  }

  /** Show whether what is on screen is saved; once saved, the local copy is no longer needed. */
  showState(clear = true) {
    if (this.unsaved()) {
      this.setState("saving", this.inflight ? "Saving…" : "Unsaved changes…");
    } else {
      if (clear) this.clearLocal();
      this.setState("saved", "Saved");
    }
  }

  // --- conflicts: both versions shown, the therapist chooses -------------------------------------

  showConflict(current, mine, reason) {
    this.blocked = true;
    clearTimeout(this.timer);
    this.setState("error", "Not saved: the note changed elsewhere.");
    const box = h(
      "div",
      { class: "alert conflict", role: "alert" },
      h("p", {}, h("strong", {}, reason), " Choose which text to keep; nothing is lost until you choose."),
      h("details", {}, h("summary", {}, "Show the saved version"), h("pre", {}, this.readable(current.content))),
      h("details", {}, h("summary", {}, "Show your version"), h("pre", {}, this.readable(mine))),
      h(
        "div",
        { class: "actions" },
        h("button", {
          type: "button",
          class: "button button-primary",
          onclick: () => {
            this.blocked = false;
            this.version = current.version;
            this.note = { ...this.note, version: current.version, content: current.content };
            this.baseline = structuredClone(current.content);
            this.content = structuredClone(mine);
            box.remove();
            this.renderEditor();
            this.changed();
          },
        }, "Keep my version"),
        h("button", {
          type: "button",
          class: "button",
          onclick: () => {
            this.blocked = false;
            this.clearLocal();
            box.remove();
            this.start();
          },
        }, "Use the saved version"),
      ),
    );
    this.conflictEl.replaceChildren(box);
  }

  readable(content) {
    return SECTIONS.map(([key, label]) => `${label}: ${content?.[key] || "—"}`).join("\n\n");
  }

  // --- field errors ------------------------------------------------------------------------------

  showErrors(details, index = new Map()) {
    for (const el of this.root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    for (const el of this.root.querySelectorAll(".field-error")) el.remove();
    this.errorsEl.replaceChildren();
    if (!details.length) return;
    const list = h("ul", {});
    for (const problem of details) {
      const path = screenPath(String(problem.field || "").replace(/^content\./, ""), index);
      const message = problem.message || problem.problem || "is not valid";
      list.append(h("li", {}, `${path || "note"}: ${message}`));
      const target = this.findField(path);
      if (target) {
        target.setAttribute("aria-invalid", "true");
        target.insertAdjacentElement("afterend", h("p", { class: "field-error" }, message));
      }
    }
    this.errorsEl.append(h("div", { class: "alert alert-error", role: "alert" }, h("p", {}, "Please check:"), list));
  }

  findField(path) {
    // Try the exact path, then shorter prefixes ("interventions[1].parameters.exercises[0].sets").
    let candidate = path;
    while (candidate) {
      const el = this.root.querySelector(`[data-path="${CSS.escape(candidate)}"]`);
      if (el) return el;
      const cut = Math.max(candidate.lastIndexOf("."), candidate.lastIndexOf("["));
      candidate = cut > 0 ? candidate.slice(0, cut) : "";
    }
    return null;
  }

  // --- the editor --------------------------------------------------------------------------------

  renderEditor(focusPath = null) {
    const c = this.content;
    // A re-render (a technique chosen, a row added) keeps the keyboard where it was.
    const active = document.activeElement;
    const keepFocus = focusPath ?? (this.root.contains(active) ? active?.dataset?.path : null);
    this.stateEl = h("span", { class: "save-state", role: "status", "aria-live": "polite", "data-state": "saved" }, "Saved");
    this.conflictEl = h("div", {});
    this.errorsEl = h("div", {});
    this.billingEl = h("div", { class: "billing", "aria-live": "polite" });
    this.problemsEl = h("div", {});
    const form = h("form", { class: "stack", onsubmit: (e) => e.preventDefault() });

    form.append(
      h("div", { class: "note-grid" },
        this.selectField("Note type", "note_type", NOTE_TYPES, c.note_type, (v) => { c.note_type = v; }),
        this.numberField("Pain at start (0–10)", "pain_before", c.pain_before, 0, 10, (v) => { c.pain_before = v; }),
        this.numberField("Pain at end (0–10)", "pain_after", c.pain_after, 0, 10, (v) => { c.pain_after = v; }),
        // Video visits only: where the patient was sets the place of service (10 home, 02 other).
        this.note.billing?.modifiers?.includes("95")
          ? this.selectField("Where the patient was", "patient_location", PATIENT_LOCATIONS, c.patient_location ?? "home", (v) => {
            c.patient_location = v;
          })
          : null,
      ),
    );
    const soap = h("div", { class: "note-grid" });
    for (const [key, label, help] of SECTIONS) {
      soap.append(this.textField(label, key, c[key], help, 20000, (v) => { c[key] = v; }, true));
    }
    form.append(soap);
    form.append(this.diagnosesBlock(), this.interventionsBlock(), this.homeProgramBlock());
    form.append(
      this.textField(
        "Message for the patient",
        "patient_message",
        c.patient_message,
        "Plain words shown in the patient's visit summary; no codes.",
        5000,
        (v) => { c.patient_message = v; },
        true,
      ),
    );

    const signButton = h("button", {
      type: "button",
      class: "button button-primary",
      "aria-keyshortcuts": "Control+Enter Meta+Enter",
      "aria-describedby": this.hintId,
      onclick: () => this.sign(),
    }, "Sign note");
    const hint = h("p", { class: "help shortcut-hint", id: this.hintId },
      "Keys: ", h("kbd", {}, KEYS.technique), " adds a technique, ", h("kbd", {}, KEYS.sign), " signs the note.");
    this.root.replaceChildren(
      h("div", { class: "note-status" }, this.stateEl, h("div", { class: "actions" }, signButton)),
      hint,
      this.copyForwardBlock(),
      this.conflictEl,
      this.errorsEl,
      form,
      h("section", { class: "card", "aria-label": "Billing" }, h("h2", {}, "Billing"), this.billingEl, this.problemsEl),
    );
    this.renderBilling();
    // Not clearing here: a draft kept on this device is read after the first render.
    this.showState(false);
    if (keepFocus) this.root.querySelector(`[data-path="${CSS.escape(keepFocus)}"]`)?.focus();
  }

  field(label, control, help) {
    const id = uid("f");
    control.id = id;
    const parts = [h("label", { for: id }, label), control];
    if (help) {
      const helpId = `${id}-help`;
      control.setAttribute("aria-describedby", helpId);
      parts.push(h("p", { class: "help", id: helpId }, help));
    }
    return h("div", { class: "field" }, ...parts);
  }

  textField(label, path, value, help, maxLength, set, multiline = false) {
    const control = multiline
      ? h("textarea", { "data-path": path, maxlength: maxLength, rows: 4 })
      : h("input", { "data-path": path, maxlength: maxLength });
    control.value = value ?? "";
    control.addEventListener("input", () => { set(control.value); this.changed(); });
    return this.field(label, control, help);
  }

  numberField(label, path, value, min, max, set) {
    const control = h("input", { type: "number", inputmode: "numeric", min, max, step: 1, "data-path": path });
    control.value = value ?? "";
    control.addEventListener("input", () => { set(toInt(control.value)); this.changed(); });
    return this.field(label, control);
  }

  selectField(label, path, pairs, value, set, rerender = false, spell = false) {
    const control = h("select", { "data-path": path }, options(pairs, value));
    control.addEventListener("change", () => {
      set(control.value);
      if (rerender) this.renderEditor();
      this.changed();
    });
    const field = this.field(label, control);
    // A closed picker cuts a long name on a phone; the choice is spelled out in full below it.
    const chosen = spell && value ? pairs.find(([v]) => v === value) : null;
    if (chosen) field.append(h("p", { class: "picked", "aria-hidden": "true" }, chosen[1]));
    return field;
  }

  removeButton(label, onclick) {
    return h("button", { type: "button", class: "button button-quiet", "aria-label": label, onclick }, "Remove");
  }

  diagnosesBlock() {
    const list = this.content.diagnoses || (this.content.diagnoses = []);
    const rows = list.map((diagnosis, i) =>
      h("div", { class: "line" },
        h("div", { class: "line-head diagnosis-head" },
          this.diagnosisPicker(diagnosis, i),
          this.selectField("Side", `diagnoses[${i}].laterality`, DIAGNOSIS_SIDES, diagnosis.laterality ?? "", (v) => {
            diagnosis.laterality = v || null;
          }),
          this.removeButton(`Remove diagnosis ${i + 1}`, () => { list.splice(i, 1); this.renderEditor(); this.changed(); }),
        ),
      ),
    );
    return h("fieldset", { class: "field", "data-path": "diagnoses" },
      h("legend", {}, "Diagnoses"),
      ...rows,
      h("button", { type: "button", class: "button", onclick: () => { list.push({ code: "", laterality: null }); this.renderEditor(); } }, "Add diagnosis"),
    );
  }

  /** The title a code is shown with before any search: the clinic's catalog knows its own codes. */
  catalogTitle(code) {
    for (const condition of this.catalog.conditions) {
      const entry = condition.codes.find((c) => c.code === code);
      if (entry) return entry.description;
    }
    return "";
  }

  // A combobox over the whole ICD-10-CM code set (WAI-ARIA combobox with a listbox popup): type a
  // code or words, arrows move, Enter picks, Escape closes. The clinic's codes come first; codes
  // that cannot be billed are listed (to show where to look) but cannot be picked.
  diagnosisPicker(diagnosis, i) {
    const id = uid("dx");
    const listId = `${id}-list`;
    const helpId = `${id}-help`;
    const input = h("input", {
      id, type: "text", role: "combobox", autocomplete: "off", spellcheck: "false",
      "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listId,
      "aria-describedby": helpId, "data-path": `diagnoses[${i}].code`, maxlength: 100,
      placeholder: "Code or words, e.g. M54.50 or knee pain",
    });
    input.value = diagnosis.code || "";
    const listbox = h("ul", { id: listId, role: "listbox", class: "dx-list", hidden: true, "aria-label": "Matching ICD-10-CM codes" });
    const chosen = h("p", { class: "help dx-chosen", "aria-live": "polite" }, diagnosis.code ? `${diagnosis.code} ${this.catalogTitle(diagnosis.code)}`.trim() : "");
    const help = h("p", { class: "help", id: helpId }, "Type at least 2 characters; the clinic's codes come first.");
    if (diagnosis.code && !this.catalogTitle(diagnosis.code)) {
      // A code from outside the catalog: its title comes from the code set.
      api(`/catalog/diagnoses?q=${encodeURIComponent(diagnosis.code)}&limit=5`)
        .then((found) => {
          const item = found.items.find((x) => x.code === diagnosis.code);
          if (item && input.value === item.code) chosen.textContent = `${item.code} ${item.name}`;
        })
        .catch(() => {});
    }
    let items = [];
    let active = -1;
    let timer = null;
    let asked = 0;

    const close = () => {
      listbox.hidden = true;
      listbox.replaceChildren();
      items = [];
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    };
    const highlight = (index) => {
      active = index;
      for (const [n, el] of [...listbox.children].entries()) el.classList.toggle("dx-active", n === index);
      const el = listbox.children[index];
      if (el && el.id) {
        input.setAttribute("aria-activedescendant", el.id);
        el.scrollIntoView({ block: "nearest" });
      } else input.removeAttribute("aria-activedescendant");
    };
    const pick = (item) => {
      if (!item || !item.billable) return;
      diagnosis.code = item.code;
      input.value = item.code;
      chosen.textContent = `${item.code} ${item.name}`;
      close();
      this.changed();
    };
    const show = (found) => {
      items = found;
      listbox.replaceChildren(
        ...found.map((item, n) => h("li", {
          id: `${id}-opt-${n}`, role: "option", class: item.billable ? "dx-option" : "dx-option dx-parent",
          "aria-selected": item.code === diagnosis.code ? "true" : "false",
          "aria-disabled": item.billable ? false : "true",
          onmousedown: (event) => event.preventDefault(), // keep focus in the input
          onclick: () => pick(item),
        },
        h("span", { class: "dx-code" }, item.code), " ",
        h("span", { class: "dx-name" }, item.name),
        item.favourite ? h("span", { class: "dx-badge" }, "Clinic") : null,
        item.billable ? null : h("span", { class: "dx-note" }, " — not billable, choose a code below it"))),
      );
      if (!found.length) listbox.append(h("li", { class: "dx-empty", role: "presentation" }, "No matching code"));
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(found.findIndex((item) => item.billable));
    };
    const search = async () => {
      const query = input.value.trim();
      if (query.length < 2) { close(); return; }
      const mine = ++asked;
      try {
        const found = await api(`/catalog/diagnoses?q=${encodeURIComponent(query)}&limit=20`);
        if (mine === asked && document.activeElement === input) show(found.items);
      } catch (error) {
        if (mine === asked) {
          listbox.replaceChildren(h("li", { class: "dx-empty", role: "presentation" }, this.messageOf(error)));
          listbox.hidden = false;
        }
      }
    };
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 250); });
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (listbox.hidden) { search(); return; }
        const step = event.key === "ArrowDown" ? 1 : -1;
        if (items.length) highlight((active + step + items.length) % items.length);
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (!listbox.hidden && active >= 0) pick(items[active]);
      } else if (event.key === "Escape" && !listbox.hidden) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", () => {
      // Words typed but not picked never become the code: the field shows the code in force.
      clearTimeout(timer);
      asked += 1;
      close();
      input.value = diagnosis.code || "";
    });
    const label = h("label", { for: id }, "ICD-10-CM code");
    return h("div", { class: "field dx-field" }, label, h("div", { class: "dx-box" }, input, listbox), chosen, help);
  }

  interventionsBlock() {
    const list = this.content.interventions || (this.content.interventions = []);
    const techniques = [["", "Choose a technique"], ...this.catalog.techniques.map((t) => [t.id, `${t.cpt} ${t.name}`])];
    const rows = list.map((line, i) => {
      const technique = this.techniques.get(line.technique);
      const units = h("output", { class: "line-units", "data-line-units": i });
      return h("div", { class: "line" },
        h("div", { class: "line-head" },
          this.selectField("Technique", `interventions[${i}].technique`, techniques, line.technique, (v) => {
            line.technique = v;
            line.parameters = {};
          }, true, true),
          this.selectField("Region", `interventions[${i}].region`, REGIONS, line.region ?? "", (v) => { line.region = v || null; }),
          this.selectField("Side", `interventions[${i}].side`, SIDES, line.side ?? "none", (v) => { line.side = v; }),
          this.numberField("Minutes", `interventions[${i}].minutes`, line.minutes, 0, 120, (v) => { line.minutes = v; }),
          h("div", { class: "field" }, h("span", {}, "Units"), units),
          this.removeButton(`Remove technique ${i + 1}`, () => { list.splice(i, 1); this.renderEditor(); this.changed(); }),
        ),
        technique ? this.parametersBlock(technique, line, `interventions[${i}].parameters`) : null,
      );
    });
    return h("fieldset", { class: "field", "data-path": "interventions" },
      h("legend", {}, "Techniques performed"),
      ...rows,
      h("button", {
        type: "button",
        class: "button",
        "aria-keyshortcuts": "Alt+T",
        "aria-describedby": this.hintId,
        onclick: () => this.addTechnique(),
      }, "Add technique"),
    );
  }

  /** A new, empty technique line; the keyboard moves to its picker. */
  addTechnique() {
    const list = this.content.interventions || (this.content.interventions = []);
    list.push({ technique: "", region: null, side: "none", minutes: 0, parameters: {} });
    this.renderEditor(`interventions[${list.length - 1}].technique`);
  }

  parametersBlock(technique, line, base) {
    const params = line.parameters || (line.parameters = {});
    const box = h("div", { class: "line-params" });
    for (const spec of technique.parameters) {
      const path = `${base}.${spec.name}`;
      const label = spec.required ? `${spec.label} (required)` : spec.label;
      const set = (value) => {
        if (value === null || value === "" || (Array.isArray(value) && !value.length)) delete params[spec.name];
        else params[spec.name] = value;
      };
      if (spec.type === "enum") {
        box.append(this.selectField(label, path, [["", "—"], ...spec.allowed.map((v) => [v, v])], params[spec.name] ?? "", set));
      } else if (spec.type === "integer") {
        box.append(this.numberField(label, path, params[spec.name], spec.minimum, spec.maximum, set));
      } else if (spec.type === "string") {
        box.append(this.textField(label, path, params[spec.name], null, spec.max_length, set));
      } else if (spec.type === "string_list" && spec.allowed) {
        const chosen = new Set(params[spec.name] || []);
        const boxes = spec.allowed.map((value) => {
          const input = h("input", { type: "checkbox", value, checked: chosen.has(value) });
          input.addEventListener("change", () => {
            if (input.checked) chosen.add(value); else chosen.delete(value);
            set(spec.allowed.filter((v) => chosen.has(v)));
            this.changed();
          });
          return h("label", { class: "choice" }, input, value);
        });
        box.append(h("fieldset", { class: "field", "data-path": path }, h("legend", {}, label), ...boxes));
      } else if (spec.type === "string_list") {
        const control = h("textarea", { "data-path": path, rows: 2 });
        control.value = (params[spec.name] || []).join("\n");
        control.addEventListener("input", () => {
          set(control.value.split("\n").map((s) => s.trim()).filter(Boolean));
          this.changed();
        });
        box.append(this.field(label, control, "One per line."));
      } else if (spec.type === "exercise_list") {
        const items = params[spec.name] || [];
        box.append(this.exerciseRows(label, path, items, (next) => set(next), false));
      }
    }
    return box;
  }

  exerciseRows(label, path, items, store, withNote) {
    const exercises = [["", "Choose an exercise"], ...this.catalog.exercises.map((e) => [e.id, e.name])];
    const rows = items.map((item, i) =>
      h("div", { class: "line" },
        h("div", { class: "line-head" },
          this.selectField("Exercise", `${path}[${i}].exercise`, exercises, item.exercise, (v) => {
            item.exercise = v;
            const entry = this.catalog.exercises.find((e) => e.id === v);
            // Start from the library's default dosage; the therapist adjusts it.
            if (entry) for (const [key] of DOSAGE) item[key] = entry.dosage[key];
          }, true),
          ...DOSAGE.map(([key, text, min, max]) => this.numberField(text, `${path}[${i}].${key}`, item[key], min, max, (v) => { item[key] = v; })),
          this.removeButton(`Remove exercise ${i + 1}`, () => { items.splice(i, 1); store(items); this.renderEditor(); this.changed(); }),
        ),
        withNote ? this.textField("Note for the patient", `${path}[${i}].note`, item.note, null, 500, (v) => { item.note = v; }) : null,
      ),
    );
    return h("fieldset", { class: "field exercise-rows", "data-path": path },
      h("legend", {}, label),
      ...rows,
      h("button", {
        type: "button",
        class: "button",
        onclick: () => {
          items.push({ exercise: "", sets: 1, repetitions: 10, hold_seconds: 0, per_day: 1, per_week: 7, ...(withNote ? { note: "" } : {}) });
          store(items);
          this.renderEditor();
        },
      }, "Add exercise"),
    );
  }

  homeProgramBlock() {
    const items = this.content.home_program || (this.content.home_program = []);
    return this.exerciseRows("Home exercise program", "home_program", items, () => {}, true);
  }

  renderBilling() {
    if (!this.billingEl || !this.note) return;
    const billing = this.note.billing;
    const lines = billing.lines.map((l) => h("li", {}, `${l.cpt} · ${l.minutes} min · ${unitsText(l.units)}${l.timed ? "" : " (untimed)"}`));
    this.billingEl.replaceChildren(
      h("ul", { class: "plain-list" }, lines.length ? lines : h("li", { class: "muted" }, "No billable techniques yet.")),
      h("p", {}, h("strong", {}, unitsText(billing.total_units)), ` · ${billing.timed_minutes} timed minutes · modifiers ${billing.modifiers.join(", ")}`),
      h("p", { class: "help" }, "Figures from the last saved version."),
    );
    // Lines not sent yet (no technique chosen) have no units; the others keep their sent order.
    const sentLine = new Map();
    for (const [sent, shown] of outgoing(this.content).index) {
      if (/^interventions\[\d+\]$/.test(sent)) sentLine.set(shown, Number(sent.slice(14, -1)));
    }
    for (const out of this.root.querySelectorAll("[data-line-units]")) {
      const at = sentLine.get(`interventions[${out.dataset.lineUnits}]`);
      const units = at === undefined ? undefined : billing.line_units[at];
      out.textContent = units === undefined ? "—" : String(units);
    }
    const problems = this.note.signing_problems || [];
    this.problemsEl.replaceChildren(
      problems.length
        ? h("div", {}, h("p", {}, "Before signing:"), h("ul", { class: "plain-list" }, problems.map((p) => h("li", {}, `${p.field}: ${p.message}`))))
        : h("p", { class: "status status-ok" }, "Ready to sign."),
    );
  }

  // --- signing and the signed note ---------------------------------------------------------------

  // Copy forward: a banner on a copied draft, else (on an untouched draft) the button that copies.
  copyForwardBlock() {
    const note = this.note;
    if (note.copied_from) {
      const day = note.copied_from_visit ? new Date(note.copied_from_visit).toLocaleDateString() : "an earlier visit";
      return h("p", { class: "alert alert-warning", role: "status" },
        `Copied from the note of ${day}; review every line before signing.`);
    }
    if (note.version !== 1) return null;
    const result = h("p", { class: "muted", role: "status" });
    const copy = async () => {
      try {
        const copied = await api(`/appointments/${this.appointmentId}/note/copy-forward`, {
          method: "POST", body: { version: this.version },
        });
        this.accept(copied);
        this.content = structuredClone(copied.content);
        this.baseline = structuredClone(copied.content); // the copy is saved: nothing unsaved yet
        this.clearLocal();
        this.renderEditor();
      } catch (error) {
        result.textContent = this.messageOf(error);
      }
    };
    return h("div", { class: "actions" },
      h("button", { type: "button", class: "button", onclick: copy }, "Start from the last signed note"), result);
  }

  /** Keyboard shortcuts while the focus is in the editor (shown in the hint beside Sign). */
  shortcut(event) {
    if (!this.note || this.note.status === "signed" || !this.stateEl || event.repeat) return;
    // event.code, not event.key: Option+T on a Mac types "†" as its key.
    if (event.altKey && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.code === "KeyT") {
      event.preventDefault();
      this.addTechnique();
    } else if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key === "Enter") {
      event.preventDefault();
      this.sign();
    }
  }

  /** Save whatever is unsaved, then sign that version; every refusal says what to do next. */
  async sign() {
    if (this.signing) return;
    this.signing = true;
    try {
      if (!(await this.flush())) {
        if (this.blocked) this.setState("error", "Not signed: choose which version to keep first.");
        else if (this.stateEl?.dataset.state === "offline") {
          this.setState("offline", "Offline — not signed. The note saves when the connection is back; then sign.");
        } else this.setState("error", "Not signed: the note could not be saved. Please fix the marked fields.");
        return;
      }
      if (!window.confirm("Sign this note? It can no longer be changed afterwards; only addenda can be added.")) return;
      const note = await api(`/appointments/${this.appointmentId}/note/sign`, {
        method: "POST",
        body: { version: this.version },
      });
      this.accept(note);
      this.clearLocal();
      this.renderSigned();
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) {
        this.showErrors(error.details || []);
        this.setState("error", "Not signed yet: please complete the marked fields.");
      } else if (error instanceof ApiError && error.code === "stale_version") {
        // Nothing here was unsaved (flush saw to that), so follow the other window's version and
        // let the therapist read what they are about to sign.
        await this.start();
        this.setState("error", "Not signed: this note was changed in another window. It now shows that version; review it and sign again.");
      } else {
        this.handleSaveError(error);
      }
    } finally {
      this.signing = false;
    }
  }

  renderSigned() {
    const note = this.note;
    const c = note.content;
    const zone = this.root.dataset.zone || undefined;
    const sections = SECTIONS.map(([key, label]) => h("div", {}, h("h3", {}, label), h("p", { class: "soap-text" }, c[key] || "—")));
    const pain = c.pain_before ?? c.pain_after;
    const addenda = note.addenda.map((a) =>
      h("div", { class: "addendum" },
        h("p", {}, h("strong", {}, "Addendum"), ` ${readTime(a.written_at, zone)} — ${a.reason}`),
        h("p", {}, a.text),
        h("details", { class: "hash-fold" }, h("summary", {}, "Addendum hash"), h("p", { class: "hash" }, `SHA-256 ${a.hash}`)),
      ),
    );
    const reason = h("input", { maxlength: 500, required: true });
    const text = h("textarea", { maxlength: 10000, rows: 4, required: true });
    const result = h("p", { role: "status", "aria-live": "polite" });
    const form = h("form", {
      class: "stack",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const updated = await api(`/appointments/${this.appointmentId}/note/addenda`, {
            method: "POST",
            body: { reason: reason.value, text: text.value },
          });
          this.accept(updated);
          this.renderSigned();
        } catch (error) {
          result.textContent = this.messageOf(error);
        }
      },
    },
      this.field("Reason", reason),
      this.field("Addendum", text),
      h("button", { type: "submit", class: "button" }, "Add addendum"),
      result,
    );
    this.root.replaceChildren(
      this.signedSignature(zone),
      h("section", { class: "card signed-note", "aria-label": "Signed note" }, h("h2", {}, "Signed note"), ...sections,
        pain === null || pain === undefined ? null
          : h("p", {}, `Pain at start ${c.pain_before ?? "—"}/10, at end ${c.pain_after ?? "—"}/10`),
        h("h3", {}, "Diagnoses"), this.signedDiagnoses(c.diagnoses || []),
        h("h3", {}, "Techniques"), this.signedTechniques(c.interventions || [], note.billing.line_units),
        h("h3", {}, "Home program"), this.signedHomeProgram(c.home_program || []),
        c.patient_message ? h("div", {}, h("h3", {}, "Message for the patient"), h("p", {}, c.patient_message)) : null,
      ),
      this.signedBilling(note.billing),
      h("section", { class: "card", "aria-label": "Addenda" }, h("h2", {}, "Addenda"), ...(addenda.length ? addenda : [h("p", { class: "muted" }, "None.")]),
        note.can_addend ? form : null),
    );
  }

  signedSignature(zone) {
    const sig = this.note.signature;
    const mark = sig.verified
      ? h("p", { class: "status status-ok verified-mark", role: "status" }, "✓ Verified")
      : h("p", { class: "alert alert-error verified-mark", role: "alert" }, "Not verified: the content does not match its signature");
    return h("section", { class: "card signed-box", "aria-label": "Signature" },
      h("div", { class: "signed-head" },
        h("div", {},
          h("p", { class: "signed-by" }, h("strong", {}, `Signed by ${sig.signer_name || "the therapist"}`), ` on ${readTime(sig.signed_at, zone)}`),
          mark,
        ),
        h("a", {
          class: "button",
          href: `/api/v1/appointments/${encodeURIComponent(this.appointmentId)}/note.pdf`,
          download: true,
        }, "Download PDF"),
      ),
      h("details", { class: "hash-fold" },
        h("summary", {}, "Signature details"),
        h("p", { class: "hash" }, `Content SHA-256 ${sig.content_hash}`),
        h("p", { class: "hash" }, `Seal ${sig.seal}`),
        ...(sig.problems || []).map((p) => h("p", { class: "field-error" }, p)),
      ),
    );
  }

  signedDiagnoses(diagnoses) {
    if (!diagnoses.length) return h("p", { class: "muted" }, "None recorded.");
    return h("ul", { class: "plain-list signed-diagnoses" }, diagnoses.map((d) => {
      const found = this.codeEntry(d.code);
      return h("li", {},
        h("strong", {}, found ? found.condition.name : d.code),
        " — ", h("span", { class: "code" }, d.code), found ? ` ${found.code.description}` : "",
        d.laterality ? ` · Side: ${SIDE_WORDS[d.laterality] || d.laterality}` : "",
      );
    }));
  }

  codeEntry(code) {
    for (const condition of this.catalog.conditions) {
      const entry = condition.codes.find((c) => c.code === code);
      if (entry) return { condition, code: entry };
    }
    return null;
  }

  signedTechniques(lines, lineUnits) {
    if (!lines.length) return h("p", { class: "muted" }, "None recorded.");
    return h("ul", { class: "plain-list signed-techniques" }, lines.map((line, i) => {
      const technique = this.techniques.get(line.technique);
      const where = [REGION_WORDS[line.region], line.side && line.side !== "none" ? SIDE_WORDS[line.side] : null].filter(Boolean);
      const params = (technique?.parameters || [])
        .filter((spec) => line.parameters?.[spec.name] !== undefined)
        .map((spec) => h("li", {}, h("span", { class: "param-label" }, `${spec.label}: `), this.parameterWords(spec, line.parameters[spec.name])));
      return h("li", {},
        h("strong", {}, technique?.name || line.technique),
        technique ? ` (CPT ${technique.cpt})` : "",
        where.length ? ` — ${where.join(", ")}` : "",
        ` — ${line.minutes} min, ${unitsText(lineUnits[i] ?? 0)}`,
        params.length ? h("ul", { class: "param-list" }, params) : null,
      );
    }));
  }

  parameterWords(spec, value) {
    if (spec.type === "exercise_list") {
      return (value || []).map((item) => `${this.exerciseName(item.exercise)}, ${describeDosage(item)}`).join("; ");
    }
    if (Array.isArray(value)) return value.join(", ");
    return String(value);
  }

  exerciseName(id) {
    return this.catalog.exercises.find((e) => e.id === id)?.name || id;
  }

  signedHomeProgram(items) {
    if (!items.length) return h("p", { class: "muted" }, "None prescribed.");
    return h("ul", { class: "plain-list signed-home-program" }, items.map((item) =>
      h("li", {}, h("strong", {}, this.exerciseName(item.exercise)), `: ${describeDosage(item)}`, item.note ? ` — ${item.note}` : ""),
    ));
  }

  signedBilling(billing) {
    const rows = billing.lines.map((l) =>
      h("tr", {},
        h("td", {}, h("span", { class: "code" }, l.cpt), ` ${l.name}`),
        h("td", {}, `${l.minutes} min${l.timed ? "" : " (untimed)"}`),
        h("td", {}, unitsText(l.units)),
        h("td", {}, h("span", { class: "cell-label" }, "Modifiers "), l.modifiers.join(", ") || "—"),
        h("td", {}, h("span", { class: "cell-label" }, "Place of service "), l.place_of_service),
      ),
    );
    return h("section", { class: "card signed-billing", "aria-label": "Billing" },
      h("h2", {}, "Billing"),
      rows.length
        ? h("div", { class: "table-scroll" }, h("table", { class: "table" },
          h("thead", {}, h("tr", {}, ...["CPT", "Minutes", "Units", "Modifiers", "POS"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows)))
        : h("p", { class: "muted" }, "Nothing billed."),
      h("p", {}, h("strong", {}, `Total ${unitsText(billing.total_units)}`),
        ` · ${billing.timed_minutes} timed minutes · modifiers ${billing.modifiers.join(", ")} · place of service ${billing.place_of_service} (${billing.place_of_service_name})`),
    );
  }
}

/** Mount the note editor for one visit into an element; returns an object with destroy(). */
export function mountNotePanel(element, appointmentId) {
  const editor = new NoteEditor(element, appointmentId);
  editor.start();
  return editor;
}
