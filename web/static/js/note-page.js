// The note page: mount the editor on the element the server rendered.
import { mountNotePanel } from "./note-editor.js";

const panel = document.querySelector("[data-note-panel]");
if (panel) mountNotePanel(panel, panel.dataset.appointmentId);
