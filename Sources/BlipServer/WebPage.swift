/// The page served at `GET /`: pick or drop an image, see its caption stream in, ask questions
/// (free answers or ranked candidates), match texts, and search an index (`serve --index`).
/// Self-contained (no external scripts, styles or fonts); talks to the JSON endpoints.
let webPageHTML = webPageBody + "<script>\n" + webPageScript + webPageSearchScript + "</script>\n</body>\n</html>\n"

/// The page's markup and styles.
let webPageBody = #"""
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
  #tabs { margin: 0.6em 0; }
  #tabs button { margin-right: 0.3em; }
  #tabs button.active { font-weight: 700; border-bottom: 2px solid #44a; }
  #hits { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 0.6em; margin-top: 0.8em; }
  .hit { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 0.3em; font-size: 0.8em; word-break: break-all; }
  .hit img { width: 100%; height: 130px; object-fit: contain; background: #eee; display: block; }
  #ranked { font-size: 0.9em; }
</style>
</head>
<body>
<h1>BLIP: captions, questions, matching and search</h1>
<div id="models">Loading model list…</div>
<div id="tabs" class="hidden"><button id="tabImage" class="active">Image</button><button id="tabSearch">Search</button></div>
<div id="imagePane">
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
  <details id="rankOptions"><summary>Rank candidate answers (the official BLIP rank mode)</summary>
    <label><input type="checkbox" id="rankMode"> rank these answers instead of generating one (comma or one per line)</label>
    <textarea id="candidates" rows="2" placeholder="yes, no, red, blue"></textarea>
  </details>
  <button id="ask">Ask</button>
  <ul id="answers"></ul>
</div>
<div id="matchBox" class="box hidden">
  <label for="texts">Texts to match (one per line)</label>
  <textarea id="texts" rows="3"></textarea>
  <button id="match">Match</button>
  <table id="matches"><thead><tr><th>text</th><th>ITM probability</th><th>ITC cosine</th></tr></thead><tbody></tbody></table>
</div>
</div>
<div id="searchPane" class="hidden">
  <div class="box">
    <label for="query">Search the indexed images by text</label>
    <input type="text" id="query" placeholder="a dog on a beach">
    <label>Results <input type="number" id="topK" min="1" max="100" value="12"></label>
    <label>ITM re-rank best <input type="number" id="rerank" min="0" max="64" value="0"></label>
    <button id="search">Search</button>
    <div>or by an image: <input type="file" id="queryFile" accept="image/jpeg,image/png,image/webp"></div>
  </div>
  <div id="searchStatus"></div>
  <div id="hits"></div>
</div>
"""#

