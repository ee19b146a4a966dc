// mnistctl serve: draw a digit, see the model read it. Plain JavaScript, no libraries.
//
// After each stroke the pad is posted as a PNG to /api/predict?digit=1 (a dropped or chosen
// image file is posted as it is); the answer's probabilities become bars, and the 28x28 input
// the model saw is drawn enlarged. For tests, after each answer is shown: window.lastPrediction
// (the parsed answer), window.lastImage (the posted picture as a data URL) and
// document.body.dataset.predictions (a count); failures count in document.body.dataset.errors.
//
// Once the guesses are shown, the same picture goes to /api/explain (never holding the guesses
// up; a newer stroke cancels it): its maps are drawn over the picture the model saw, each
// layer's activations as small tiles. For tests: window.lastExplanation and
// #why's data-explanations (a count).
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

  const maps = document.getElementById("maps");
  const layers = document.getElementById("layers");
  const why = document.getElementById("why");
  const whyStatus = document.getElementById("why-status");
  const METHOD_NAMES = { gradcam: "Grad-CAM", saliency: "Saliency", occlusion: "Occlusion" };
  let explaining = null; // the AbortController of the explanation on its way

  window.lastPrediction = null;
  window.lastImage = null;
  window.lastExplanation = null;

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
    if (explaining) explaining.abort();
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
    if (explaining) explaining.abort(); // the picture it explains is an older one
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
    explain(blob, mine);
  }

  // --- why: the maps and the layers ------------------------------------------------------------

  async function explain(blob, mine) {
    if (explaining) explaining.abort();
    const controller = new AbortController();
    explaining = controller;
    whyStatus.textContent = "Looking inside the network…";
    whyStatus.classList.remove("error");
    let answer;
    try {
      const response = await fetch("/api/explain?digit=1", {
        method: "POST",
        headers: { "Content-Type": blob.type || "application/octet-stream" },
        body: blob,
        signal: controller.signal,
      });
      answer = await response.json();
      if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    } catch (error) {
      if (controller.signal.aborted || mine !== sequence) return; // a newer picture took over
      whyStatus.textContent = `No explanation: ${error.message}`;
      whyStatus.classList.add("error");
      countError();
      return;
    }
    if (mine !== sequence) return;
    explaining = null;
    showMaps(answer);
    showLayers(answer.layers || []);
    window.lastExplanation = answer;
    why.dataset.explanations = String(Number(why.dataset.explanations) + 1);
    const layer = answer.layer ? ` (Grad-CAM at ${answer.layer})` : "";
    whyStatus.textContent = `Why the model reads ${classNames[answer.label]}${layer}:`;
  }

  function grey(value) {
    // one pixel of the prepared picture: a number (grey) or [r, g, b], each 0..1
    const v = Array.isArray(value) ? (value[0] + value[1] + value[2]) / 3 : value;
    return Math.round(Math.max(0, Math.min(1, v)) * 255);
  }

  function overlay(rows, picture) {
    // the map over the picture: the picture dimmed, the map in red to yellow where it is large
    const height = rows.length;
    const width = height ? rows[0].length : 0;
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const c = canvas.getContext("2d");
    const image = c.createImageData(width, height);
    const top = Math.max(...rows.map((row) => Math.max(...row))) || 1;
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        const v = Math.max(0, rows[y][x] / top);
        const base = picture && picture[y] ? 0.55 * grey(picture[y][x]) : 0;
        const i = 4 * (width * y + x);
        image.data[i] = Math.round(base + v * (255 - base));
        image.data[i + 1] = Math.round(base * (1 - v) + 210 * v * v);
        image.data[i + 2] = Math.round(base * (1 - v));
        image.data[i + 3] = 255;
      }
    }
    c.putImageData(image, 0, 0);
    return canvas;
  }

  function showMaps(answer) {
    const figures = Object.entries(answer.maps || {}).map(([method, rows]) => {
      const figure = document.createElement("figure");
      figure.dataset.method = method;
      const name = METHOD_NAMES[method] || method;
      let shown;
      if (Array.isArray(rows)) {
        shown = overlay(rows, answer.digit);
        shown.setAttribute("role", "img");
        shown.setAttribute("aria-label", `${name}: where the model looked, over the picture`);
      } else {
        shown = document.createElement("div");
        shown.className = "none";
        shown.textContent = "not for this model";
        shown.title = (answer.reasons || {})[method] || "";
      }
      const caption = document.createElement("figcaption");
      caption.textContent = name;
      figure.append(shown, caption);
      return figure;
    });
    maps.replaceChildren(...figures);
  }

  function tileCanvas(bytes, offset, rows, cols) {
    const canvas = document.createElement("canvas");
    canvas.width = cols;
    canvas.height = rows;
    const c = canvas.getContext("2d");
    const image = c.createImageData(cols, rows);
    for (let k = 0; k < rows * cols; k += 1) {
      const v = bytes[offset + k];
      image.data[4 * k] = image.data[4 * k + 1] = image.data[4 * k + 2] = v;
      image.data[4 * k + 3] = 255;
    }
    c.putImageData(image, 0, 0);
    return canvas;
  }

  function showLayers(list) {
    const items = list.map((layer) => {
      const block = document.createElement("div");
      block.className = "layer";
      block.dataset.layer = layer.name;
      const title = document.createElement("p");
      title.className = "layer-name";
      const detail = document.createElement("span");
      const channels = layer.shape[layer.shape.length - 1];
      const of = layer.channels ? ` · ${layer.count} of ${channels} maps` : "";
      detail.textContent = ` ${layer.shape.join("×")}${of}`;
      title.append(layer.label, detail);
      const tiles = document.createElement("div");
      tiles.className = "tiles";
      tiles.setAttribute("role", "img");
      tiles.setAttribute("aria-label", `${layer.label}: ${layer.shape.join(" by ")} activations`);
      const bytes = Uint8Array.from(atob(layer.pixels), (ch) => ch.charCodeAt(0));
      const [rows, cols] = layer.tile;
      const cell = layer.channels ? 36 : Math.max(4, Math.min(10, Math.floor(400 / cols)));
      for (let t = 0; t < layer.count; t += 1) {
        const canvas = tileCanvas(bytes, t * rows * cols, rows, cols);
        const scale = layer.channels ? cell / Math.max(rows, cols) : cell;
        canvas.style.width = `${Math.round(cols * scale)}px`;
        canvas.style.height = `${Math.round(rows * scale)}px`;
        tiles.append(canvas);
      }
      block.append(title, tiles);
      return block;
    });
    layers.replaceChildren(...items);
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
    maps.replaceChildren();
    layers.replaceChildren();
    whyStatus.textContent = "Draw a digit: the maps show which pixels mattered for the answer.";
    whyStatus.classList.remove("error");
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
