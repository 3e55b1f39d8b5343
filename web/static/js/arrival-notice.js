// A desktop notification when a patient arrives in the waiting room while the therapist's visit
// tab is hidden (another tab, another program): the chime and the "(1) waiting" title are easy to
// miss from there. Opt-in: the browser is asked only when the therapist presses the button, and
// the notification names nobody beyond a first name, since it may show on a shared screen.

const KEY = "telehealth.notify-arrivals";

const WORDS = {
  unsupported: "This browser cannot show notifications. The chime and the tab title still tell you.",
  denied: "Notifications are blocked for this site. To allow them, change this site's settings in your browser.",
  dismissed: "Notifications were not allowed. Press the button to be asked again.",
  on: "On: a notification shows when a patient arrives while this tab is hidden.",
  off: "Off: the chime and the tab title tell you when a patient arrives.",
};

function supported() {
  return "Notification" in window;
}

function wanted() {
  try {
    return localStorage.getItem(KEY) === "on";
  } catch {
    return false;
  }
}

function remember(on) {
  try {
    if (on) localStorage.setItem(KEY, "on");
    else localStorage.removeItem(KEY);
  } catch {
    // Storage refused: the choice holds for this page only.
  }
}

// Older Safari answers through a callback instead of a promise.
function askPermission() {
  return new Promise((resolve) => {
    const answer = Notification.requestPermission(resolve);
    if (answer) answer.then(resolve, () => resolve("default"));
  });
}

/** Bind the opt-in button and its line of words; returns notify(arrivedGuests). */
export function mountArrivalNotice(button, said) {
  let on = false;

  function show(state) {
    on = state === "on";
    button.setAttribute("aria-pressed", String(on));
    said.textContent = WORDS[state] || "";
  }

  // Reading the permission never prompts; asking is left to the button.
  if (!supported()) {
    button.disabled = true;
    show("unsupported");
  } else if (Notification.permission === "denied") {
    show("denied");
  } else if (Notification.permission === "granted" && wanted()) {
    show("on");
  }

  button.addEventListener("click", async () => {
    if (!supported()) return;
    if (on) {
      remember(false);
      show("off");
      return;
    }
    const permission = Notification.permission === "granted" ? "granted" : await askPermission();
    remember(permission === "granted");
    show(permission === "granted" ? "on" : permission === "denied" ? "denied" : "dismissed");
  });

  return function notify(guests) {
    if (!on || !guests.length || document.visibilityState !== "hidden") return;
    if (Notification.permission !== "granted") return;
    const first = String(guests[0].display_name || "").trim().split(/\s+/)[0];
    const body =
      guests.length > 1
        ? `${guests.length} people are in the waiting room.`
        : `${first || "Your patient"} is in the waiting room.`;
    try {
      const notice = new Notification("Waiting room", { body, tag: "telehealth-waiting-room" });
      notice.addEventListener("click", () => {
        window.focus();
        notice.close();
      });
    } catch {
      // Some browsers (Chrome on Android) allow notifications only from a service worker; the
      // chime and the tab title still tell the therapist.
    }
  };
}
