/// The page's script: image tab (caption, questions, matching).
let webPageScript = #"""
"use strict";
let imageB64 = null;      // the current image, accepted by the server (null: none, or rejected)
let imageToken = 0;       // increases with every new image: late answers for an old one are dropped
let busy = false;
let models = {};
let limits = {};
let timer = null;
let scaledNote = "";    // how the browser scaled the current image down, if it did
const $ = (id) => document.getElementById(id);

function setStatus(text, isError) {
  stopTimer();
  $("status").textContent = text;
  $("status").className = "box" + (isError ? " error" : "");
}

// A spinner with the seconds elapsed while a request runs.
function startTimer(text) {
  stopTimer();
  const started = performance.now();
  const show = () => {
    const s = ((performance.now() - started) / 1000).toFixed(1);
    $("status").innerHTML = "";
    const spin = document.createElement("span");
    spin.className = "spinner";
    $("status").append(spin, text + " " + s + " s");
  };
  $("status").className = "box";
  show();
  timer = setInterval(show, 100);
}

function stopTimer() {
  if (timer !== null) { clearInterval(timer); timer = null; }
}

// Buttons work only with an accepted image and no request running (no double submits).
function updateButtons() {
  const ready = imageB64 !== null && !busy;
  for (const id of ["ask", "match", "recaption"]) $(id).disabled = !ready;
  $("file").disabled = busy;
}

// Errors in plain words, from the server's error_type.
function plainError(e) {
  const limitMP = limits.max_image_pixels ? (limits.max_image_pixels / 1e6).toFixed(0) + " megapixels" : "the server's limit";
  switch (e.type) {
    case "image_too_large": return "This image is too large for the server (at most " + limitMP + ").";
    case "invalid_image": return "The server could not read this image. Is it a JPEG, PNG or WebP file?";
    case "body_too_large": return "This image file is too large to upload.";
    case "queue_full": case "pixel_budget": return "The server is busy. Try again in a moment.";
    case "network": return "Could not reach the server.";
    case "invalid_parameter": case "invalid_text": return e.message;
    default: return e.message;
  }
}

// Reads a server-sent-events response ("stream": true): calls onEvent with each JSON event and
// returns the last one (it carries "done").
async function postStream(path, payload, onEvent) {
  let r;
  try {
    r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                           body: JSON.stringify(Object.assign({stream: true}, payload))});
  } catch (err) {
    const e = new Error("network error"); e.type = "network"; throw e;
  }
  if (!r.ok || !(r.headers.get("content-type") || "").startsWith("text/event-stream")) {
    const data = await r.json().catch(() => ({error: "HTTP " + r.status}));
    const e = new Error(data.error || ("HTTP " + r.status));
    e.type = data.error_type || "http_" + r.status;
    throw e;
  }
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "", last = null;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, {stream: true});
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const chunk = buffered.substring(0, end);
      buffered = buffered.substring(end + 2);
      for (const line of chunk.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const event = JSON.parse(line.substring(6));
        if (event.done && event.error) { const e = new Error(event.error); e.type = event.error_type; throw e; }
        last = event;
        onEvent(event);
      }
    }
  }
  if (!last || !last.done) { const e = new Error("the stream ended early"); e.type = "network"; throw e; }
  return last;
}

async function post(path, payload) {
  let r;
  try {
    r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(payload)});
  } catch (err) {
    const e = new Error("network error"); e.type = "network"; throw e;
  }
  const data = await r.json().catch(() => ({error: "HTTP " + r.status}));
  if (!r.ok) {
    const e = new Error(data.error || ("HTTP " + r.status));
    e.type = data.error_type || "http_" + r.status;
    e.status = r.status;
    throw e;
  }
  return data;
}

async function loadInfo() {
  try {
    const info = await (await fetch("/info")).json();
    models = info.models || {};
    limits = info.limits || {};
    if (models.search) {
      $("tabs").classList.remove("hidden");
      $("query").placeholder = "search " + models.search.images + " indexed images, e.g. a dog on a beach";
    }
    const names = Object.keys(models);
    $("models").textContent = "Models: " + (names.length ? names.join(", ") : "none") + " · server " + info.version;
  } catch (e) {
    $("models").textContent = "Could not read /info: " + e.message;
  }
}

// Runs one request at a time; `token` is the image it is for.
async function run(label, token, body) {
  busy = true;
  updateButtons();
  startTimer(label);
  try {
    return await body();
  } finally {
    busy = false;
    if (token === imageToken) updateButtons();
  }
}

function captionOptions() {
  const o = {};
  const prompt = $("prompt").value.trim();
  if (prompt) o.prompt = prompt;
  const beams = parseInt($("beams").value, 10);
  if (beams > 1) o.num_beams = beams;
  const maxTokens = parseInt($("maxTokens").value, 10);
  if (maxTokens > 0) o.max_new_tokens = maxTokens;
  return o;
}

// Captions the image (the first request for a new image also tells whether the server accepts it).
async function caption(b64, token, first) {
  const request = Object.assign({image: b64}, captionOptions());
  try {
    // The caption streams in token by token; the first token also tells the image was accepted.
    const data = await run(first ? "Captioning…" : "Captioning again…", token, () =>
      postStream("/api/v1/inference/blip", request, (event) => {
        if (token !== imageToken || event.done) return;
        if (first && imageB64 === null) accept(b64);
        $("caption").textContent = event.text;
        $("captionBox").classList.remove("hidden");
      }));
    if (token !== imageToken) return;
    if (first) accept(b64);
    $("caption").textContent = data.caption;
    $("captionTime").textContent = "(" + data.inference_time_ms + " ms" + scaledNote + ")";
    $("captionBox").classList.remove("hidden");
    setStatus("Done.");
  } catch (e) {
    if (token !== imageToken) return;
    if (first && ["image_too_large", "invalid_image", "body_too_large"].includes(e.type)) reject(e);
    else { if (first) accept(b64); setStatus("Error: " + plainError(e), true); }
  }
  updateButtons();
}

function accept(b64) {
  imageB64 = b64;
  if (models.vqa) $("vqaBox").classList.remove("hidden");
  if (models.itm) $("matchBox").classList.remove("hidden");
}

// The server refused the image: no preview, no buttons, the reason in plain words.
function reject(e) {
  imageB64 = null;
  $("preview").style.display = "none";
  $("preview").removeAttribute("src");
  setStatus("Error: " + plainError(e), true);
}

// Clears everything that belonged to the previous image.
function clearResults() {
  imageB64 = null;
  $("caption").textContent = "";
  $("captionTime").textContent = "";
  $("captionBox").classList.add("hidden");
  $("answers").innerHTML = "";
  $("matches").querySelector("tbody").innerHTML = "";
  $("vqaBox").classList.add("hidden");
  $("matchBox").classList.add("hidden");
}

// Images over the server's pixel or body limit are scaled down in the browser (JPEG) first.
function fitToLimits(img, dataURL) {
  const maxPixels = limits.max_image_pixels || 16e6;
  const maxBytes = (limits.max_body_bytes || 16777216) * 0.7;  // base64 and JSON overhead
  const pixels = img.naturalWidth * img.naturalHeight;
  if (pixels <= maxPixels && dataURL.length <= maxBytes) return {dataURL, scaled: false};
  let scale = Math.min(1, Math.sqrt(maxPixels / pixels), Math.sqrt(maxBytes / dataURL.length));
  for (let attempt = 0; attempt < 6; attempt++) {
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.floor(img.naturalWidth * scale));
    canvas.height = Math.max(1, Math.floor(img.naturalHeight * scale));
    canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
    const scaled = canvas.toDataURL("image/jpeg", 0.92);
    if (scaled.length <= maxBytes) return {dataURL: scaled, scaled: true, width: canvas.width, height: canvas.height};
    scale *= 0.7;
  }
  return {dataURL, scaled: false};
}

function useFile(file) {
  if (!file || busy) return;
  const token = ++imageToken;
  clearResults();
  updateButtons();
  setStatus("Reading the image…");
  $("preview").style.display = "none";
  const reader = new FileReader();
  reader.onload = () => {
    const img = new Image();
    img.onload = () => {
      if (token !== imageToken) return;
      const fitted = fitToLimits(img, reader.result);
      $("preview").src = fitted.dataURL;
      $("preview").style.display = "block";
      const b64 = fitted.dataURL.substring(fitted.dataURL.indexOf(",") + 1);
      if (!models.caption) {
        accept(b64);
        setStatus("Image loaded (no captioning model).");
        updateButtons();
        return;
      }
      scaledNote = fitted.scaled ? "; scaled to " + fitted.width + "×" + fitted.height + " in the browser" : "";
      caption(b64, token, true);
    };
    img.onerror = () => { if (token === imageToken) setStatus("This file is not an image the browser can show (JPEG, PNG or WebP).", true); };
    img.src = reader.result;
  };
  reader.onerror = () => setStatus("Could not read the file.", true);
  reader.readAsDataURL(file);
}

$("file").addEventListener("change", (e) => { useFile(e.target.files[0]); e.target.value = ""; });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); useFile(e.dataTransfer.files[0]); });

$("recaption").addEventListener("click", () => { if (imageB64 && !busy) caption(imageB64, imageToken, false); });

$("ask").addEventListener("click", async () => {
  const q = $("question").value.trim();
  if (!q || !imageB64 || busy) return;
  const token = imageToken;
  const candidates = $("rankMode").checked
    ? $("candidates").value.split(/[\n,]/).map((t) => t.trim()).filter((t) => t) : null;
  if (candidates && !candidates.length) { setStatus("Give the candidate answers to rank.", true); return; }
  const li = document.createElement("li");
  li.textContent = q + " → …";
  $("answers").appendChild(li);
  try {
    if (candidates) {
      const data = await run("Ranking answers…", token, () => post("/api/v1/inference/blip", {image: imageB64, question: q, candidates}));
      li.textContent = q + " → " + data.answer + " ";
      const ranked = document.createElement("span");
      ranked.className = "ranked";
      ranked.id = "ranked";
      ranked.textContent = "(" + data.ranked.slice(0, 5).map((r) => r.answer + " " + (100 * r.probability).toFixed(1) + "%").join(", ") + ")";
      li.appendChild(ranked);
      if (token === imageToken) setStatus("Done.");
      return;
    }
    const data = await run("Answering…", token, () =>
      postStream("/api/v1/inference/blip", {image: imageB64, question: q}, (event) => {
        if (!event.done) li.textContent = q + " → " + event.text + " …";
      }));
    li.textContent = q + " → " + data.answer;
    if (token === imageToken) setStatus("Done.");
  } catch (e) {
    li.textContent = q + " → error: " + plainError(e);
    li.className = "error";
    if (token === imageToken) setStatus("Error: " + plainError(e), true);
  }
});
$("question").addEventListener("keydown", (e) => { if (e.key === "Enter") $("ask").click(); });

$("match").addEventListener("click", async () => {
  const texts = $("texts").value.split("\n").map((t) => t.trim()).filter((t) => t);
  if (!texts.length || !imageB64 || busy) return;
  const token = imageToken;
  const body = $("matches").querySelector("tbody");
  body.innerHTML = "";
  try {
    const data = await run("Matching…", token, () => post("/match", {image: imageB64, texts: texts}));
    if (token !== imageToken) return;
    for (const m of data.matches) {
      const tr = document.createElement("tr");
      for (const v of [m.text, m.itm_probability.toFixed(4), m.itc_cosine.toFixed(4)]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    setStatus("Done.");
  } catch (e) {
    if (token === imageToken) setStatus("Match error: " + plainError(e), true);
  }
});

"""#
