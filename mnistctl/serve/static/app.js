// mnistctl serve: draw a digit, see the model read it. Plain JavaScript, no libraries.
//
// After each stroke the pad is posted as a PNG to /api/predict?digit=1 (a dropped or chosen
// image file is posted as it is); the answer's probabilities become bars, and the 28x28 input
// the model saw is drawn enlarged. For tests, after each answer is shown: window.lastPrediction
// (the parsed answer), window.lastImage (the posted picture as a data URL) and
// document.body.dataset.predictions (a count); failures count in document.body.dataset.errors.
"use strict";

(() => {
  const pad = document.getElementById("pad");
  const ctx = pad.getContext("2d");
  const seen = document.getElementById("seen");
  const seenCtx = seen.getContext("2d");
  const guesses = document.getElementById("guesses");
  const top = document.getElementById("top");
  const statusLine = document.getElementById("status");
  const drop = document.getElementById("drop");
  const fileInput = document.getElementById("file");

  const STROKE = 22; // px on the 280 px pad: about 2.2 px on 28, like MNIST's pen
  let classNames = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
  let drawing = null; // the pointer drawing now, and its last point
  let sequence = 0; // answers to older requests than the newest are not shown

  window.lastPrediction = null;
  window.lastImage = null;

  function say(text, isError = false) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", isError);
  }

  function percent(p) {
    return (100 * p).toFixed(p >= 0.9995 || p < 0.0005 ? 0 : 1) + "%";
  }

  // --- the pad -------------------------------------------------------------------------------

  function clearPad() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, pad.width, pad.height);
  }

  function point(event) {
    const box = pad.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * pad.width) / box.width,
      y: ((event.clientY - box.top) * pad.height) / box.height,
    };
  }

  function line(from, to) {
    ctx.strokeStyle = "#fff";
    ctx.fillStyle = "#fff";
    ctx.lineWidth = STROKE;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  }

  pad.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 && event.pointerType === "mouse") return;
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    const p = point(event);
    drawing = { id: event.pointerId, last: p };
    line(p, p); // a dot
  });

  pad.addEventListener("pointermove", (event) => {
    if (!drawing || event.pointerId !== drawing.id) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) {
      const p = point(e);
      line(drawing.last, p);
      drawing.last = p;
    }
  });

  function endStroke(event) {
    if (!drawing || event.pointerId !== drawing.id) return;
    drawing = null;
    pad.toBlob((blob) => {
      if (blob) predict(blob, "your drawing");
    }, "image/png");
  }

  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);

  document.getElementById("clear").addEventListener("click", () => {
    sequence += 1; // an answer still on its way is for the old drawing
    clearPad();
    showNothing();
    say("Cleared. Draw a digit in the black square.");
  });

  // --- image files ---------------------------------------------------------------------------

  function readFile(file) {
    if (!file) return;
    if (!file.type.startsWith("image/")) {
      say(`${file.name} is not an image file (its type: ${file.type || "unknown"}).`, true);
      countError();
      return;
    }
    clearPad();
    predict(file, file.name);
  }

  fileInput.addEventListener("change", () => {
    readFile(fileInput.files[0]);
    fileInput.value = ""; // choosing the same file again reads it again
  });

  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dragging");
    readFile(event.dataTransfer.files[0]);
  });

  // --- asking the model ----------------------------------------------------------------------

  function dataUrl(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  function countError() {
    document.body.dataset.errors = String(Number(document.body.dataset.errors || 0) + 1);
  }

  async function predict(blob, what) {
    const mine = ++sequence;
    say(`Reading ${what}…`);
    let answer;
    try {
      const response = await fetch("/api/predict?digit=1", {
        method: "POST",
        headers: { "Content-Type": blob.type || "application/octet-stream" },
        body: blob,
      });
      answer = await response.json();
      if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    } catch (error) {
      if (mine !== sequence) return;
      showNothing();
      say(`The model could not read ${what}: ${error.message}`, true);
      countError();
      return;
    }
    const image = await dataUrl(blob);
    if (mine !== sequence) return; // a newer stroke or file is on its way
    show(answer);
    window.lastPrediction = answer;
    window.lastImage = image;
    document.body.dataset.predictions = String(Number(document.body.dataset.predictions) + 1);
    const best = answer.probabilities[answer.label];
    say(`The model reads ${what} as ${classNames[answer.label]} (${percent(best)}).`);
  }

  // --- showing the answer --------------------------------------------------------------------

  function show(answer) {
    const order = answer.probabilities
      .map((p, digit) => ({ p, digit }))
      .sort((a, b) => b.p - a.p || a.digit - b.digit);
    const items = order.map(({ p, digit }) => {
      const li = document.createElement("li");
      li.dataset.digit = String(digit);
      li.dataset.probability = String(p);
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = classNames[digit];
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.setAttribute("aria-hidden", "true");
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
      bar.append(fill);
      const pct = document.createElement("span");
      pct.className = "pct";
      pct.textContent = percent(p);
      li.append(label, bar, pct);
      return li;
    });
    guesses.replaceChildren(...items);
    top.textContent = classNames[answer.label];
    if (answer.digit) showSeen(answer.digit);
  }

  function showSeen(rows) {
    const image = seenCtx.createImageData(28, 28);
    rows.forEach((row, y) =>
      row.forEach((v, x) => {
        const grey = Math.round(Math.max(0, Math.min(1, v)) * 255);
        const i = 4 * (28 * y + x);
        image.data[i] = image.data[i + 1] = image.data[i + 2] = grey;
        image.data[i + 3] = 255;
      }),
    );
    seenCtx.putImageData(image, 0, 0);
  }

  function showNothing() {
    guesses.replaceChildren();
    top.textContent = "–";
    seenCtx.fillStyle = "#000";
    seenCtx.fillRect(0, 0, 28, 28);
  }

  // --- the run -------------------------------------------------------------------------------

  async function loadInfo() {
    try {
      const response = await fetch("/api/info");
      const info = await response.json();
      if (!response.ok) throw new Error(info.error || `HTTP ${response.status}`);
      if (Array.isArray(info.class_names) && info.class_names.length) {
        classNames = info.class_names.map(String);
      }
      guesses.classList.toggle("short", classNames.every((name) => name.length <= 2));
      document.getElementById("run-name").textContent = info.name;
      const accuracy = document.getElementById("test-accuracy");
      accuracy.textContent =
        info.test_accuracy === null ? "not recorded" : `${(100 * info.test_accuracy).toFixed(2)}%`;
      accuracy.dataset.value = String(info.test_accuracy);
      const params = document.getElementById("params");
      params.textContent = Number(info.total_params).toLocaleString("en-US");
      params.dataset.value = String(info.total_params);
      document.title = `Draw a digit · ${info.name} · mnistctl`;
      say("Draw a digit in the black square, or read an image file.");
    } catch (error) {
      say(`Could not load the model's details: ${error.message}`, true);
    }
  }

  clearPad();
  showNothing();
  loadInfo();
})();
