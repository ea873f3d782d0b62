// Small progressive enhancements; every page works without them. No inline script (CSP).
"use strict";
(function () {
  // Comparator: zoom buttons, pinch/drag pan, both eye-aligned face crops move together.
  const comparator = document.getElementById("comparator");
  if (comparator) {
    const figures = comparator.querySelectorAll(".figure");
    let scale = 1, x = 0, y = 0, drag = null;
    const apply = () => figures.forEach(f => { f.style.transform = `translate(${x}px, ${y}px) scale(${scale})`; });
    document.querySelectorAll("[data-zoom]").forEach(b => b.addEventListener("click", () => {
      const z = parseFloat(b.dataset.zoom);
      if (z === 0) { scale = 1; x = 0; y = 0; } else { scale = Math.min(8, Math.max(1, scale * z)); }
      apply();
    }));
    comparator.addEventListener("pointerdown", e => { drag = [e.clientX - x, e.clientY - y]; comparator.setPointerCapture(e.pointerId); });
    comparator.addEventListener("pointermove", e => { if (drag) { x = e.clientX - drag[0]; y = e.clientY - drag[1]; apply(); } });
    comparator.addEventListener("pointerup", () => { drag = null; });
  }
  // Camera preview (new search): the stream stops when the page is hidden or left, and the server
  // ends it after data-max-s seconds; then a button resumes it. Dropping the src closes the stream.
  const preview = document.getElementById("camera-preview");
  if (preview) {
    const resume = document.getElementById("preview-resume");
    let timer = null;
    const stop = () => { clearTimeout(timer); preview.removeAttribute("src"); resume.classList.remove("hidden"); };
    const start = () => {
      preview.src = preview.dataset.src + "?t=" + Date.now();  // a new stream, never a cached one
      resume.classList.add("hidden");
      clearTimeout(timer);
      timer = setTimeout(stop, Number(preview.dataset.maxS) * 1000);
    };
    timer = setTimeout(stop, Number(preview.dataset.maxS) * 1000);
    resume.addEventListener("click", start);
    document.addEventListener("visibilitychange", () => { if (document.hidden) stop(); });
    window.addEventListener("pagehide", stop);
    // Live guidance: the server analyses preview frames (quality only, never a search) and this
    // polls its newest advice, draws the face box over the preview and says what to fix, or "ready".
    const text = document.getElementById("guidance");
    const box = preview.parentElement.querySelector(".guide-box");
    const say = advice => {
      const ready = advice.state === "ready";
      text.classList.toggle("ready", ready);
      box.classList.toggle("ready", ready);
      if (ready) text.textContent = "Ready: every quality check passes. Capture now.";
      else if (advice.state === "waiting") text.textContent = "Live guidance starts with the preview.";
      else text.textContent = advice.instructions.map(i => i.charAt(0).toUpperCase() + i.slice(1)).join(". ") + ".";
      if (!advice.box) { box.classList.add("hidden"); return; }
      // Percentages of the frame, mapped onto the picture as drawn (object-fit: contain).
      const w = preview.clientWidth, h = preview.clientHeight, nw = preview.naturalWidth, nh = preview.naturalHeight;
      const scale = nw && nh ? Math.min(w / nw, h / nh) : 0;
      const dw = nw * scale, dh = nh * scale, ox = (w - dw) / 2 + preview.offsetLeft, oy = (h - dh) / 2 + preview.offsetTop;
      box.style.left = (ox + advice.box[0] / 100 * dw) + "px";
      box.style.top = (oy + advice.box[1] / 100 * dh) + "px";
      box.style.width = (advice.box[2] / 100 * dw) + "px";
      box.style.height = (advice.box[3] / 100 * dh) + "px";
      box.classList.toggle("hidden", scale === 0);
    };
    const poll = async () => {
      if (preview.getAttribute("src")) {
        try {
          const response = await fetch(preview.dataset.guidance, {credentials: "same-origin", cache: "no-store"});
          if (response.ok) say(await response.json());
        } catch (e) { /* the next poll tries again */ }
      }
      setTimeout(poll, 250);
    };
    poll();
  }
  // Enhancement: a live preview while a value changes (the Preview button does the same without JS),
  // shown at the top of the controls so it is on the first screen.
  const live = document.getElementById("live-preview");
  const liveFigure = document.getElementById("live-figure"), cropArea = document.getElementById("cropper");
  const showPreview = form => {
    const params = new URLSearchParams();
    form.querySelectorAll("input[type=number], input[name=op]").forEach(i => params.set(i.name, i.value));
    live.src = form.dataset.preview + "?" + params.toString();
    liveFigure.classList.remove("hidden");
    cropArea.classList.add("hidden");
  };
  document.getElementById("live-close")?.addEventListener("click", () => {
    liveFigure.classList.add("hidden");
    cropArea.classList.remove("hidden");
  });
  document.querySelectorAll("form.edit").forEach(form => form.addEventListener("change", () => showPreview(form)));
  // Crop by dragging on the photo: the box's corners fill the crop form's four fractions.
  const cropper = document.getElementById("cropper");
  const cropForm = document.querySelector("form.edit input[name=op][value=crop]")?.form;
  if (cropper && cropForm) {
    const rect = document.getElementById("crop-rect"), img = cropper.querySelector("img.photo");
    let start = null;
    const at = e => {
      const b = img.getBoundingClientRect();
      return [Math.min(1, Math.max(0, (e.clientX - b.left) / b.width)), Math.min(1, Math.max(0, (e.clientY - b.top) / b.height))];
    };
    const draw = (a, b) => {
      const [x0, x1] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])], [y0, y1] = [Math.min(a[1], b[1]), Math.max(a[1], b[1])];
      Object.assign(rect.style, {left: x0 * 100 + "%", top: y0 * 100 + "%", width: (x1 - x0) * 100 + "%", height: (y1 - y0) * 100 + "%"});
      rect.classList.remove("hidden");
      return {x0, y0, x1, y1};
    };
    cropper.addEventListener("pointerdown", e => { e.preventDefault(); start = at(e); cropper.setPointerCapture(e.pointerId); });
    cropper.addEventListener("pointermove", e => { if (start) draw(start, at(e)); });
    cropper.addEventListener("pointerup", e => {
      if (!start) return;
      const box = draw(start, at(e));
      start = null;
      if (box.x1 - box.x0 < 0.05 || box.y1 - box.y0 < 0.05) { rect.classList.add("hidden"); return; }
      // The dashed box on the photo is the crop's preview; the numbers are filled for Apply.
      for (const [name, value] of Object.entries(box)) cropForm.querySelector(`input[name=${name}]`).value = value.toFixed(2);
    });
  }
  // Search: through the JSON API the UI shares with other clients.
  const search = document.getElementById("search-form");
  if (search) search.addEventListener("submit", async e => {
    e.preventDefault();
    const button = document.getElementById("run-search");
    button.disabled = true; button.textContent = "Searching…";
    const face = search.querySelector("input[name=face]:checked");
    const response = await fetch(search.dataset.api, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": search.querySelector("input[name=csrf_token]").value},
      body: JSON.stringify({case_id: Number(search.dataset.case), face_index: face ? Number(face.value) : null}),
    });
    const body = await response.json();
    if (response.ok) { window.location = body.next; return; }
    // The message is shown in place (never carried in a URL); the form stays as it was.
    let alert = document.getElementById("search-error");
    if (!alert) {
      alert = document.createElement("p");
      alert.id = "search-error"; alert.className = "error"; alert.setAttribute("role", "alert");
      search.prepend(alert);
    }
    alert.textContent = body.error;
    button.disabled = false; button.textContent = "Search the gallery";
  });
  // A probe file over the unit's limit is refused here, before anything is sent: the form and
  // what was typed stay as they are (the server says the same with a 413 if this is skipped).
  const file = document.querySelector("input[type=file][data-max-bytes]");
  if (file) file.form.addEventListener("submit", e => {
    const max = Number(file.dataset.maxBytes), chosen = file.files[0];
    if (e.submitter && e.submitter.name === "source" || !chosen || chosen.size <= max) return;
    e.preventDefault();
    let alert = document.getElementById("size-error");
    if (!alert) {
      alert = document.createElement("p");
      alert.id = "size-error"; alert.className = "error"; alert.setAttribute("role", "alert");
      file.before(alert);
    }
    const mb = Math.floor(max / 1048576);
    alert.textContent = `This file is ${(chosen.size / 1048576).toFixed(1)} MB; the unit accepts at most ${mb ? mb + " MB" : Math.floor(max / 1024) + " KB"}. Choose a smaller photo.`;
  });
  // Numbered face boxes over a photo (positions in percent; set here because the CSP refuses
  // inline styles). On the probe step each box is the label of that face's radio button.
  document.querySelectorAll(".facebox[data-box]").forEach(box => {
    const [x, y, w, h] = box.dataset.box.split(",").map(Number);
    Object.assign(box.style, {left: x + "%", top: y + "%", width: w + "%", height: h + "%"});
    box.classList.add("placed");
  });
  const print = document.getElementById("print");
  if (print) print.addEventListener("click", () => window.print());
})();
