"use strict";
// The page of `lmam serve`: plain JavaScript, no build step.
const PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf"];
const colours = {};
let socket = null;

const $ = (id) => document.getElementById(id);

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function call(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const text = body && body.error ? body.error : `the server answered ${response.status}`;
    const more = body && body.problems && body.problems.length > 1 ? "\n" + body.problems.slice(1).join("\n") : "";
    throw new Error(text + more);
  }
  return body;
}

function colourOf(label) {
  return colours[label] || "#999";
}

function row(p) {
  const li = document.createElement("li");
  li.className = "utt";
  li.style.setProperty("--c", colourOf(p.prediction));
  li.dataset.emotion = p.prediction;
  const head = document.createElement("div");
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = p.speaker + ": ";
  const text = document.createElement("span");
  text.textContent = p.text;
  const emotion = document.createElement("span");
  emotion.className = "emotion";
  emotion.textContent = p.prediction;
  head.append(emotion, who, text);
  const bars = document.createElement("div");
  bars.className = "bars";
  bars.setAttribute("aria-label", "probabilities");
  for (const [label, value] of Object.entries(p.probabilities)) {
    const name = document.createElement("span");
    name.textContent = label;
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-label", label);
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "1");
    bar.setAttribute("aria-valuenow", value.toFixed(3));
    const fill = document.createElement("span");
    fill.style.width = (100 * value).toFixed(1) + "%";
    fill.style.setProperty("--c", colourOf(label));
    bar.append(fill);
    const number = document.createElement("span");
    number.textContent = (100 * value).toFixed(0) + "%";
    bars.append(name, bar, number);
  }
  li.append(head, bars);
  return li;
}

function show(predictions, replace) {
  const list = $("timeline");
  if (replace) list.replaceChildren();
  for (const p of predictions) list.append(row(p));
}

function parseLines(text) {
  const utterances = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const at = line.indexOf(":");
    if (at < 1) throw new Error(`line ${i + 1}: want "speaker: text", got ${JSON.stringify(line)}`);
    utterances.push({ speaker: line.slice(0, at).trim(), text: line.slice(at + 1).trim() });
  });
  if (!utterances.length) throw new Error("type at least one line \"speaker: text\"");
  return utterances;
}

async function predictWhole(event) {
  event.preventDefault();
  showError("");
  try {
    const utterances = parseLines($("conversation").value);
    const body = await call("/v1/predict", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ utterances }),
    });
    show(body.predictions, true);
  } catch (e) { showError(e.message); }
}

const CONVERSATION = /\.(csv|jsonl|ndjson)$/i;

async function upload() {
  showError("");
  const chosen = Array.from($("file").files);
  if (!chosen.length) return;
  // one conversation file; any other file chosen with it is audio it names
  const files = chosen.filter((f) => CONVERSATION.test(f.name));
  if (files.length !== 1) {
    showError("Choose one conversation file (.csv or .jsonl), with the audio files it names.");
    $("file").value = "";
    return;
  }
  const form = new FormData();
  form.append("file", files[0]);
  for (const f of chosen) if (f !== files[0]) form.append("audio", f);
  try {
    const body = await call("/v1/predict/file", { method: "POST", body: form });
    show(body.predictions, true);
  } catch (e) { showError(e.message); }
  $("file").value = "";
}

function openSession() {
  if (socket) socket.close();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/v1/sessions/ws`);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.error) { showError(message.error); return; }
    if (message.predictions) {
      // a causal session answers the new utterance; a rerun one every utterance so far
      show(message.predictions, message.predictions.length > 1);
    }
  };
  socket.onclose = (event) => { if (event.code >= 4000) showError(event.reason || "the session was refused"); };
  $("timeline").replaceChildren();
}

function sendLive(event) {
  event.preventDefault();
  showError("");
  const speaker = $("speaker").value.trim();
  const text = $("utterance").value;
  if (!speaker) { showError("give the speaker's name"); return; }
  const go = () => { socket.send(JSON.stringify({ speaker, text })); $("utterance").value = ""; };
  if (!socket || socket.readyState > 1) openSession();
  if (socket.readyState === 1) go(); else socket.addEventListener("open", go, { once: true });
}

async function start() {
  try {
    const card = await call("/v1/model");
    card.labels.forEach((label, i) => { colours[label] = PALETTE[i % PALETTE.length]; });
    $("model").textContent = `${card.run}: ${card.backbone} with ${card.fusion}, ` +
      `emotions ${card.labels.join(", ")}; live sessions ${{carried: "carry their state", causal: "answer each utterance once"}[card.session] || "rerun the dialogue"}`;
  } catch (e) { showError(e.message); $("model").textContent = "no model card"; }
  $("whole").addEventListener("submit", predictWhole);
  $("file").addEventListener("change", upload);
  $("live").addEventListener("submit", sendLive);
  $("restart").addEventListener("click", openSession);
}

start();
