// "Copy the link" beside a read-only field: the clipboard where the browser allows it, otherwise
// the text is selected so the person can copy it themselves.
for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copy);
    const said = document.getElementById("copy-said");
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      if (said) said.textContent = "Copied.";
    } catch {
      if (said) said.textContent = "Select the link and copy it.";
    }
  });
}
