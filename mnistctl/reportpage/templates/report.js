// mnistctl report: a click on a confusion cell shows that cell's pictures (kept in <template>s).
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.cell");
  if (!button) return;
  const run = button.dataset.run;
  const viewer = document.getElementById("viewer-" + run);
  const template = document.getElementById("cell-" + run + "-" + button.dataset.cell);
  if (!viewer || !template) return;
  for (const other of document.querySelectorAll('button.cell[data-run="' + run + '"]')) {
    other.setAttribute("aria-pressed", String(other === button));
  }
  viewer.replaceChildren(template.content.cloneNode(true));
  viewer.dataset.cell = button.dataset.cell;
});
