/// The page served at `GET /`: pick or drop an image, see its caption, ask questions, match texts.
/// Self-contained (no external scripts, styles or fonts); talks to the JSON endpoints.
let webPageHTML = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>BLIP</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 760px; margin: 2em auto; padding: 0 1em; color: #222; }
  h1 { font-size: 1.4em; }
  #drop { border: 2px dashed #888; border-radius: 8px; padding: 1.5em; text-align: center; cursor: pointer; }
  #drop.over { background: #eef; border-color: #44a; }
  #preview { max-width: 100%; max-height: 320px; display: none; margin: 1em auto; }
  .box { margin: 1em 0; padding: 0.8em 1em; background: #f6f6f6; border-radius: 6px; }
  .hidden { display: none; }
  #caption { font-size: 1.2em; font-weight: 600; }
  .error { color: #b00; }
  table { border-collapse: collapse; width: 100%; }
  td, th { border-bottom: 1px solid #ddd; padding: 0.3em; text-align: left; }
  input[type=text], textarea { width: 100%; box-sizing: border-box; padding: 0.4em; }
  input[type=number] { width: 5em; }
  button { margin-top: 0.4em; padding: 0.4em 1em; }
  button:disabled { opacity: 0.5; }
  #models { color: #666; font-size: 0.9em; }
  .spinner { display: inline-block; width: 0.9em; height: 0.9em; border: 2px solid #aaa; border-top-color: #333;
             border-radius: 50%; animation: spin 0.8s linear infinite; vertical-align: middle; margin-right: 0.4em; }
  @keyframes spin { to { transform: rotate(360deg); } }
  details { margin-top: 0.6em; }
  .controls label { margin-right: 1em; }
</style>
</head>
<body>
<h1>BLIP: captions, questions and matching</h1>
<div id="models">Loading model list…</div>
<div id="drop">Drop an image here, or <label><u>choose a file</u>
  <input type="file" id="file" accept="image/jpeg,image/png,image/webp" style="display:none"></label></div>
<img id="preview" alt="uploaded image">
<div id="status" class="box">No image yet.</div>
<div id="captionBox" class="box hidden">Caption: <span id="caption"></span> <small id="captionTime"></small>
  <details id="captionOptions"><summary>Caption options</summary>
    <div class="controls">
      <label>Prompt <input type="text" id="prompt" placeholder="a picture of"></label>
      <label>Beams <input type="number" id="beams" min="1" max="8" value="1"></label>
      <label>Max new tokens <input type="number" id="maxTokens" min="1" max="64" value="20"></label>
      <button id="recaption">Caption again</button>
    </div>
  </details>
</div>
<div id="vqaBox" class="box hidden">
  <label for="question">Ask a question about the image</label>
  <input type="text" id="question" placeholder="what is in the picture?">
  <button id="ask">Ask</button>
  <ul id="answers"></ul>
</div>
<div id="matchBox" class="box hidden">
  <label for="texts">Texts to match (one per line)</label>
  <textarea id="texts" rows="3"></textarea>
  <button id="match">Match</button>
  <table id="matches"><thead><tr><th>text</th><th>ITM probability</th><th>ITC cosine</th></tr></thead><tbody></tbody></table>
</div>
<script>
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
    const data = await run(first ? "Captioning…" : "Captioning again…", token, () => post("/api/v1/inference/blip", request));
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
  const li = document.createElement("li");
  li.textContent = q + " → …";
  $("answers").appendChild(li);
  try {
    const data = await run("Answering…", token, () => post("/api/v1/inference/blip", {image: imageB64, question: q}));
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

updateButtons();
loadInfo();
</script>
</body>
</html>
"""#
