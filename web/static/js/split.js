// The line between the therapist's video and her note: dragged with the mouse or a finger, moved
// with the arrow keys (the ARIA window splitter pattern), and remembered in this browser, since
// each therapist settles on her own balance between seeing the patient and writing.
//
// The value is the video column's share of the width, in percent. visit.css reads it as the two
// columns' fr values, so the columns keep their proportions when the window is resized.

const KEY = "telehealth.visit-split";
// visit.css puts the columns side by side from this width; below it the page is stacked and the
// separator is not shown.
const WIDE = "(min-width: 1000px)";
// Narrower than this the video's controls pile up and the picture is a thumbnail; the note's
// fields (visit.css, notes.css) are laid out for at least 18rem.
const VIDEO_MIN_REM = 20;
const NOTE_MIN_REM = 18;
const STEP = 2;
const PAGE_STEP = 10;
// The stylesheet's own balance (2fr : 1fr) until the therapist moves the line.
const DEFAULT_SHARE = 200 / 3;

function stored() {
  try {
    const value = Number(localStorage.getItem(KEY));
    return value > 0 && value < 100 ? value : null;
  } catch {
    return null;
  }
}

function store(share) {
  try {
    localStorage.setItem(KEY, String(share));
  } catch {
    // Storage refused (private window): the line is where it was put, for this page only.
  }
}

/** Make `handle` (role="separator" in the visit page) move the line between the columns of `grid`. */
export function mountSplit(grid, handle) {
  const wide = matchMedia(WIDE);
  let share = stored();

  function limits() {
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const gap = parseFloat(getComputedStyle(grid).columnGap) || 0;
    const available = grid.clientWidth - gap;
    const min = ((VIDEO_MIN_REM * rem) / available) * 100;
    const max = 100 - ((NOTE_MIN_REM * rem) / available) * 100;
    return { available, min, max: Math.max(min, max) };
  }

  function clamped(value, { min, max }) {
    return Math.min(max, Math.max(min, value));
  }

  // Lay the columns out at `value` (kept within the limits) and say where the line is.
  function place(value) {
    const bounds = limits();
    const now = clamped(value ?? DEFAULT_SHARE, bounds);
    if (value !== null) {
      // Set through the CSSOM, which the page's CSP allows (a style attribute it would not).
      grid.style.setProperty("--video-share", `${now}fr`);
      grid.style.setProperty("--note-share", `${100 - now}fr`);
    }
    const rounded = Math.round(now);
    handle.setAttribute("aria-valuemin", String(Math.round(bounds.min)));
    handle.setAttribute("aria-valuemax", String(Math.round(bounds.max)));
    handle.setAttribute("aria-valuenow", String(rounded));
    handle.setAttribute("aria-valuetext", `Video ${rounded}%, note ${100 - rounded}%`);
    return now;
  }

  function move(value) {
    share = place(value);
    store(share);
  }

  handle.addEventListener("keydown", (event) => {
    if (!wide.matches) return;
    const bounds = limits();
    const now = clamped(share ?? DEFAULT_SHARE, bounds);
    const next = {
      ArrowLeft: now - STEP,
      ArrowRight: now + STEP,
      PageDown: now - PAGE_STEP,
      PageUp: now + PAGE_STEP,
      Home: bounds.min,
      End: bounds.max,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    move(next);
  });

  let drag = null;
  handle.addEventListener("pointerdown", (event) => {
    if (!wide.matches || event.button !== 0) return;
    // No text selection while dragging across the note; the pointer stays the handle's.
    event.preventDefault();
    handle.setPointerCapture(event.pointerId);
    handle.focus();
    drag = { x: event.clientX, from: clamped(share ?? DEFAULT_SHARE, limits()) };
    document.body.classList.add("resizing-split");
  });
  handle.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const { available } = limits();
    share = place(drag.from + ((event.clientX - drag.x) / available) * 100);
  });
  const stop = () => {
    if (!drag) return;
    drag = null;
    document.body.classList.remove("resizing-split");
    if (share !== null) store(share);
  };
  handle.addEventListener("pointerup", stop);
  handle.addEventListener("pointercancel", stop);
  handle.addEventListener("lostpointercapture", stop);

  // A resized window moves the limits; the call step appearing gives the handle its size.
  const refresh = () => {
    if (wide.matches && grid.clientWidth > 0) place(share);
  };
  new ResizeObserver(refresh).observe(grid);
  wide.addEventListener("change", refresh);
  refresh();
}
