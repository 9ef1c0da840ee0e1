/// The page's search tab (shown when the server has an index): text → images and
/// image → images, with thumbnails from `GET /thumbnail`.
let webPageSearchScript = #"""
function showTab(name) {
  $("imagePane").classList.toggle("hidden", name !== "image");
  $("searchPane").classList.toggle("hidden", name !== "search");
  $("tabImage").classList.toggle("active", name === "image");
  $("tabSearch").classList.toggle("active", name === "search");
}
$("tabImage").addEventListener("click", () => showTab("image"));
$("tabSearch").addEventListener("click", () => showTab("search"));

let searching = false;
function searchStatus(text, isError) {
  $("searchStatus").textContent = text;
  $("searchStatus").className = isError ? "error" : "";
}

function showHits(data) {
  const grid = $("hits");
  grid.innerHTML = "";
  for (const hit of data.hits) {
    const cell = document.createElement("div");
    cell.className = "hit";
    const img = document.createElement("img");
    img.loading = "lazy";
    img.alt = hit.path;
    img.src = hit.thumbnail;
    img.onerror = () => { img.replaceWith(document.createTextNode("(image unreadable)")); };
    const name = document.createElement("div");
    name.textContent = hit.rank + ". " + hit.path.split("/").pop();
    name.title = hit.path;
    const score = document.createElement("div");
    score.textContent = "ITC " + hit.itc.toFixed(3) + (hit.itm !== undefined ? " · ITM " + hit.itm.toFixed(3) : "");
    cell.append(img, name, score);
    grid.appendChild(cell);
  }
  let text = data.hits.length + " of " + data.images + " images (" + data.inference_time_ms + " ms)";
  if (data.failures) text += "; could not re-read: " + data.failures.join("; ");
  searchStatus(data.hits.length ? text : "No images in the index yet.");
}

async function runSearch(payload, label) {
  if (searching) return;
  searching = true;
  $("search").disabled = true;
  $("queryFile").disabled = true;
  searchStatus(label);
  try {
    payload.top_k = Math.max(1, Math.min(100, parseInt($("topK").value, 10) || 12));
    showHits(await post("/search", payload));
  } catch (e) {
    $("hits").innerHTML = "";
    searchStatus("Error: " + plainError(e), true);
  } finally {
    searching = false;
    $("search").disabled = false;
    $("queryFile").disabled = false;
  }
}

$("search").addEventListener("click", () => {
  const text = $("query").value.trim();
  if (!text) { searchStatus("Type what to look for.", true); return; }
  const rerank = Math.max(0, Math.min(64, parseInt($("rerank").value, 10) || 0));
  runSearch(rerank > 0 ? {text, rerank} : {text}, rerank > 0 ? "Searching and re-ranking " + rerank + " images…" : "Searching…");
});
$("query").addEventListener("keydown", (e) => { if (e.key === "Enter") $("search").click(); });
$("queryFile").addEventListener("change", (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    const img = new Image();
    img.onload = () => {
      const fitted = fitToLimits(img, reader.result);
      runSearch({image: fitted.dataURL.substring(fitted.dataURL.indexOf(",") + 1)}, "Searching by image…");
    };
    img.onerror = () => searchStatus("This file is not an image the browser can show (JPEG, PNG or WebP).", true);
    img.src = reader.result;
  };
  reader.readAsDataURL(file);
});

updateButtons();
loadInfo();

"""#
