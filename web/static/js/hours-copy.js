// "Copy Monday to Tuesday–Friday" on the weekly hours form, done in the page: without this file
// the button posts the form and the server draws it again with the copied hours (not saved). Here
// the copy happens at once, keeps everything else typed, and says the same thing: nothing is
// saved until Save hours is pressed.

const WEEKDAYS_AFTER_MONDAY = [1, 2, 3, 4];
const COPIED =
  "Monday's hours are copied to Tuesday, Wednesday, Thursday and Friday." +
  " They are not saved yet: check them, then press Save hours.";

function copyMonday(form) {
  for (const field of form.querySelectorAll('input[name^="d0_"]')) {
    for (const weekday of WEEKDAYS_AFTER_MONDAY) {
      const target = form.elements.namedItem(field.name.replace(/^d0_/, `d${weekday}_`));
      if (target) target.value = field.value;
    }
  }
}

const form = document.getElementById("hours-form");
const button = form?.querySelector("[data-copy-monday]");
const status = document.getElementById("hours-status");
if (form && button && status) {
  button.addEventListener("click", (event) => {
    event.preventDefault();
    copyMonday(form);
    status.className = "alert alert-warn";
    status.textContent = COPIED;
  });
}
