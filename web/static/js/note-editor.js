// The visit note editor: autosave with versions, an offline-safe local draft, live billing units,
// signing and addenda. mountNotePanel(element, appointmentId) works on the note page and as the
// side panel of the video visit room alike.

import { api, ApiError } from "./api.js";

const SAVE_DELAY_MS = 800;
const RETRY_DELAYS_MS = [2000, 5000, 10000, 30000];
const NOTE_TYPES = [
  ["initial_evaluation", "Initial evaluation"],
  ["daily", "Daily note"],
  ["progress", "Progress note"],
  ["re_evaluation", "Re-evaluation"],
  ["discharge", "Discharge"],
];
const REGIONS = [
  ["", "—"], ["hip", "Hip"], ["lower_back", "Lower back"], ["pelvis", "Pelvis"],
  ["abdomen", "Abdomen"], ["lower_limb", "Lower limb"], ["whole_body", "Whole body"],
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

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

class NoteEditor {
  constructor(element, appointmentId) {
    this.root = element;
    this.appointmentId = appointmentId;
    this.storageKey = `th-note-draft:${appointmentId}`;
    this.catalog = null;
    this.note = null;
    this.content = null;
    this.version = 0;
    this.timer = null;
    this.saving = false;
    this.again = false;
    this.attempt = 0;
    this.blocked = false; // a conflict waits for the therapist's choice
    this.onOnline = () => this.scheduleSave(0);
    window.addEventListener("online", this.onOnline);
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
    if (!local || same(local.content, this.note.content)) {
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

  async save() {
    if (this.saving) {
      this.again = true;
      return;
    }
    if (same(this.content, this.note.content)) {
      this.clearLocal();
      this.setState("saved", "Saved");
      return;
    }
    this.saving = true;
    const sent = structuredClone(this.content);
    this.setState("saving", "Saving…");
    try {
      const note = await api(`/appointments/${this.appointmentId}/note`, {
        method: "PUT",
        body: { version: this.version, content: sent },
      });
      this.attempt = 0;
      this.accept(note);
      this.showErrors([]);
      if (same(this.content, sent)) this.clearLocal();
      this.setState("saved", "Saved");
      this.renderBilling();
    } catch (error) {
      this.handleSaveError(error);
    } finally {
      this.saving = false;
      if (this.again) {
        this.again = false;
        this.scheduleSave(0);
      }
    }
  }

  handleSaveError(error) {
    if (error instanceof ApiError && error.code === "stale_version") {
      this.showConflict(error.details.current, this.content, "This note was changed in another window or device.");
    } else if (error instanceof ApiError && error.code === "note_locked") {
      this.clearLocal();
      this.start();
    } else if (error instanceof ApiError && error.status === 422) {
      this.showErrors(error.details || []);
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

  showErrors(details) {
    for (const el of this.root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    for (const el of this.root.querySelectorAll(".field-error")) el.remove();
    this.errorsEl.replaceChildren();
    if (!details.length) return;
    const list = h("ul", {});
    for (const problem of details) {
      const path = String(problem.field || "").replace(/^content\./, "");
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

  renderEditor() {
    const c = this.content;
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

    const signButton = h("button", { type: "button", class: "button button-primary", onclick: () => this.sign() }, "Sign note");
    this.root.replaceChildren(
      h("div", { class: "note-status" }, this.stateEl, h("div", { class: "actions" }, signButton)),
      this.conflictEl,
      this.errorsEl,
      form,
      h("section", { class: "card", "aria-label": "Billing" }, h("h2", {}, "Billing"), this.billingEl, this.problemsEl),
    );
    this.renderBilling();
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

  selectField(label, path, pairs, value, set, rerender = false) {
    const control = h("select", { "data-path": path }, options(pairs, value));
    control.addEventListener("change", () => {
      set(control.value);
      if (rerender) this.renderEditor();
      this.changed();
    });
    return this.field(label, control);
  }

  removeButton(label, onclick) {
    return h("button", { type: "button", class: "button button-quiet", "aria-label": label, onclick }, "Remove");
  }

  diagnosesBlock() {
    const list = this.content.diagnoses || (this.content.diagnoses = []);
    const codes = [["", "Choose a diagnosis"]];
    for (const condition of this.catalog.conditions) {
      for (const code of condition.codes) codes.push([code.code, `${condition.name}: ${code.code} ${code.description}`]);
    }
    const rows = list.map((diagnosis, i) =>
      h("div", { class: "line" },
        h("div", { class: "line-head" },
          this.selectField("ICD-10-CM code", `diagnoses[${i}].code`, codes, diagnosis.code, (v) => { diagnosis.code = v; }),
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

  interventionsBlock() {
    const list = this.content.interventions || (this.content.interventions = []);
    const techniques = [["", "Choose a technique"], ...this.catalog.techniques.map((t) => [t.id, `${t.name} (${t.cpt})`])];
    const rows = list.map((line, i) => {
      const technique = this.techniques.get(line.technique);
      const units = h("output", { class: "line-units", "data-line-units": i });
      return h("div", { class: "line" },
        h("div", { class: "line-head" },
          this.selectField("Technique", `interventions[${i}].technique`, techniques, line.technique, (v) => {
            line.technique = v;
            line.parameters = {};
          }, true),
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
        onclick: () => { list.push({ technique: "", region: null, side: "none", minutes: 0, parameters: {} }); this.renderEditor(); },
      }, "Add technique"),
    );
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
    const lines = billing.lines.map((l) => h("li", {}, `${l.cpt} · ${l.minutes} min · ${l.units} unit${l.units === 1 ? "" : "s"}${l.timed ? "" : " (untimed)"}`));
    this.billingEl.replaceChildren(
      h("ul", { class: "plain-list" }, lines.length ? lines : h("li", { class: "muted" }, "No billable techniques yet.")),
      h("p", {}, h("strong", {}, `${billing.total_units} units`), ` · ${billing.timed_minutes} timed minutes · modifiers ${billing.modifiers.join(", ")}`),
      h("p", { class: "help" }, "Figures from the last saved version."),
    );
    for (const out of this.root.querySelectorAll("[data-line-units]")) {
      const units = billing.line_units[Number(out.dataset.lineUnits)];
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

  async sign() {
    clearTimeout(this.timer);
    await this.save();
    if (this.blocked || !same(this.content, this.note.content)) {
      this.setState("error", "Save the note before signing it.");
      return;
    }
    if (!window.confirm("Sign this note? It can no longer be changed afterwards; only addenda can be added.")) return;
    try {
      const note = await api(`/appointments/${this.appointmentId}/note/sign`, {
        method: "POST",
        body: { version: this.version },
      });
      this.accept(note);
      this.clearLocal();
      this.renderSigned();
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) this.showErrors(error.details || []);
      else this.handleSaveError(error);
    }
  }

  renderSigned() {
    const note = this.note;
    const c = note.content;
    const sig = note.signature;
    const sections = SECTIONS.map(([key, label]) => h("div", {}, h("h3", {}, label), h("p", {}, c[key] || "—")));
    const diagnoses = (c.diagnoses || []).map((d) => h("li", {}, `${d.code}${d.laterality ? ` (${d.laterality})` : ""}`));
    const lines = (c.interventions || []).map((l, i) =>
      h("li", {}, `${this.techniques.get(l.technique)?.name || l.technique} · ${l.minutes} min · ${note.billing.line_units[i] ?? 0} units`),
    );
    const addenda = note.addenda.map((a) =>
      h("div", { class: "addendum" },
        h("p", {}, h("strong", {}, "Addendum"), ` ${new Date(a.written_at).toLocaleString()} — ${a.reason}`),
        h("p", {}, a.text),
        h("p", { class: "hash" }, `SHA-256 ${a.hash}`),
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
      h("section", { class: "card signed-box", "aria-label": "Signature" },
        h("p", { class: "status status-ok", role: "status" },
          `Signed ${new Date(sig.signed_at).toLocaleString()} — ${sig.verified ? "content verified" : "CONTENT DOES NOT MATCH ITS SIGNATURE"}`),
        h("p", { class: "hash" }, `SHA-256 ${sig.content_hash}`),
      ),
      h("section", { class: "card" }, h("h2", {}, "Signed note"), ...sections,
        h("h3", {}, "Diagnoses"), h("ul", { class: "plain-list" }, diagnoses),
        h("h3", {}, "Techniques"), h("ul", { class: "plain-list" }, lines),
        h("p", {}, `${note.billing.total_units} units · modifiers ${note.billing.modifiers.join(", ")}`),
      ),
      h("section", { class: "card" }, h("h2", {}, "Addenda"), ...(addenda.length ? addenda : [h("p", { class: "muted" }, "None.")]),
        note.can_addend ? form : null),
    );
  }
}

/** Mount the note editor for one visit into an element; returns an object with destroy(). */
export function mountNotePanel(element, appointmentId) {
  const editor = new NoteEditor(element, appointmentId);
  editor.start();
  return editor;
}
