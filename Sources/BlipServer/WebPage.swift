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
  button { margin-top: 0.4em; padding: 0.4em 1em; }
  #models { color: #666; font-size: 0.9em; }
</style>
</head>
<body>
<h1>BLIP: captions, questions and matching</h1>
<div id="models">Loading model list…</div>
<div id="drop">Drop an image here, or <label><u>choose a file</u>
  <input type="file" id="file" accept="image/jpeg,image/png,image/webp" style="display:none"></label></div>
<img id="preview" alt="uploaded image">
<div id="status" class="box">No image yet.</div>
<div id="captionBox" class="box hidden">Caption: <span id="caption"></span> <small id="captionTime"></small></div>
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
let imageB64 = null;
let models = {};
const $ = (id) => document.getElementById(id);

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = "box" + (isError ? " error" : "");
}

async function post(path, payload) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(payload)});
  const data = await r.json().catch(() => ({error: "HTTP " + r.status}));
  if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
  return data;
}

async function loadInfo() {
  try {
    const info = await (await fetch("/info")).json();
    models = info.models || {};
    const names = Object.keys(models);
    $("models").textContent = "Models: " + (names.length ? names.join(", ") : "none") + " · server " + info.version;
  } catch (e) {
    $("models").textContent = "Could not read /info: " + e.message;
  }
}

async function caption() {
  if (!models.caption) { setStatus("Image loaded (no captioning model)."); return; }
  setStatus("Captioning…");
  try {
    const data = await post("/api/v1/inference/blip", {image: imageB64});
    $("caption").textContent = data.caption;
    $("captionTime").textContent = "(" + data.inference_time_ms + " ms)";
    $("captionBox").classList.remove("hidden");
    setStatus("Done.");
  } catch (e) {
    setStatus("Error: " + e.message, true);
  }
}

function useFile(file) {
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    const url = reader.result;
    $("preview").src = url;
    $("preview").style.display = "block";
    imageB64 = url.substring(url.indexOf(",") + 1);
    $("answers").innerHTML = "";
    $("matches").querySelector("tbody").innerHTML = "";
    if (models.vqa) $("vqaBox").classList.remove("hidden");
    if (models.itm) $("matchBox").classList.remove("hidden");
    caption();
  };
  reader.onerror = () => setStatus("Could not read the file.", true);
  reader.readAsDataURL(file);
}

$("file").addEventListener("change", (e) => useFile(e.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); useFile(e.dataTransfer.files[0]); });

$("ask").addEventListener("click", async () => {
  const q = $("question").value.trim();
  if (!q || !imageB64) return;
  const li = document.createElement("li");
  li.textContent = q + " → …";
  $("answers").appendChild(li);
  try {
    const data = await post("/api/v1/inference/blip", {image: imageB64, question: q});
    li.textContent = q + " → " + data.answer;
  } catch (e) {
    li.textContent = q + " → error: " + e.message;
    li.className = "error";
  }
});
$("question").addEventListener("keydown", (e) => { if (e.key === "Enter") $("ask").click(); });

$("match").addEventListener("click", async () => {
  const texts = $("texts").value.split("\n").map((t) => t.trim()).filter((t) => t);
  if (!texts.length || !imageB64) return;
  const body = $("matches").querySelector("tbody");
  body.innerHTML = "";
  try {
    const data = await post("/match", {image: imageB64, texts: texts});
    for (const m of data.matches) {
      const tr = document.createElement("tr");
      for (const v of [m.text, m.itm_probability.toFixed(4), m.itc_cosine.toFixed(4)]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  } catch (e) {
    setStatus("Match error: " + e.message, true);
  }
});

loadInfo();
</script>
</body>
</html>
"""#
