// The playground: points of two classes on a plane and a network learning to separate them.
//
// Everything numeric happens in Python, in the Lab's interpreter (a Web Worker running
// Pyodide with microgrid, through runtime.js): microgrid.playground.Controller takes one
// request at a time and answers with a snapshot (JSON) that this script draws. Training is
// a loop of short requests ("make k updates"), so Pause, Step and Reset are page logic and
// the page stays responsive between them. Nothing here computes a loss or a gradient.
//
// The page holds <div id="microgrid-playground"></div> and loads this module; the module
// builds the controls inside it.

import { MicrogridRuntime, NO_WEBASSEMBLY } from "./runtime.js";

// An SVG shown as an image, as the Lab shows diagrams: no script in it runs, nothing is fetched.
function picture(svg, alt) {
  const img = document.createElement("img");
  img.alt = alt;
  img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
  return img;
}

const here = new URL("./", import.meta.url);
const CHUNK_MS = 250;      // the time one training request aims at
const GRAPH_EVERY_MS = 2000; // while training, the sample's graph is redrawn this often
const STOP_AFTER_MS = 3000;  // Pause during a request longer than this ends the worker

const STYLE = `
.mg-pg { display: flex; flex-wrap: wrap; gap: 1rem; font-size: 0.8rem; }
.mg-pg-left { flex: 0 0 auto; }
.mg-pg-right { flex: 1 1 300px; min-width: 280px; }
.mg-pg canvas { border: 1px solid #999; cursor: crosshair; touch-action: none;
  max-width: 100%; }
.mg-pg-row { display: flex; flex-wrap: wrap; gap: 0.4rem 0.8rem; align-items: center;
  margin: 0.35rem 0; }
.mg-pg button { padding: 0.15rem 0.6rem; border: 1px solid #888; border-radius: 3px;
  background: #f4f4f4; cursor: pointer; font: inherit; }
.mg-pg button:disabled { opacity: 0.5; cursor: default; }
.mg-pg input[type=text] { width: 6rem; font: inherit; border: 1px solid #888;
  border-radius: 3px; padding: 0 0.25rem; }
.mg-pg select { font: inherit; }
.mg-pg-status { font-weight: bold; min-height: 1.2em; }
.mg-pg-error { color: #b2182b; min-height: 1.2em; white-space: pre-wrap; }
.mg-pg-panels img { margin: 0 0.3rem 0.3rem 0; vertical-align: top; }
.mg-pg-graph { max-height: 70vh; overflow: auto; border: 1px solid #ddd; }
.mg-pg-graph img { width: 100%; cursor: zoom-in; }
.mg-pg-graph.mg-pg-zoom img { width: auto; max-width: none; cursor: zoom-out; }
.mg-pg-code { max-height: 50vh; overflow: auto; background: #f6f8fa; padding: 0.5rem;
  font-size: 0.75rem; }
.mg-pg-dot { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 50%;
  vertical-align: -0.1em; }
`;

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function option(value, text, selected) {
  const node = element("option", { value, text });
  if (selected) node.selected = true;
  return node;
}

function rgb(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

class Playground {
  constructor(root) {
    this.root = root;
    this.snapshot = null;
    this.points = [];
    this.labels = [];
    this.training = false;
    this.busy = null;          // {started} while a request runs
    this.lastGraph = 0;
    this.chunk = 1;
    this.sessionLost = true;   // the worker has no Controller yet (or was restarted)
    this.queue = Promise.resolve();
    this.pending = 0;          // requests sent and not yet answered
    this.edits = 0;            // edits of the points made on the page,
    this.notice = "";          // said in the status line until the next button
    this.sent = 0;             // and how many of them the interpreter has: an answer to a
                               // request sent before the last edit shows the page's points
    this.build();
  }

  // -- the controls -------------------------------------------------------------------
  build() {
    const style = element("style", { text: STYLE });
    this.canvas = element("canvas", { width: "420", height: "320",
      "aria-label": "the plane: click to add a point, click a point to remove it" });
    this.counts = element("span", { "data-role": "counts" });
    this.classes = [0, 1].map((c) => {
      const input = element("input", { type: "radio", name: "mg-pg-class", value: String(c) });
      if (c === 0) input.checked = true;
      this[`dot${c}`] = element("span", { class: "mg-pg-dot" });
      return element("label", {}, [input, " ", this[`dot${c}`], ` class ${c}`]);
    });
    this.layers = element("input", { type: "text", value: "8, 8", "aria-label": "hidden layers" });
    this.activation = element("select", { "aria-label": "activation" },
      ["tanh", "relu", "sigmoid", "leaky_relu", "softplus", "linear"].map(
        (a) => option(a, a, a === "tanh")));
    this.optimizer = element("select", { "aria-label": "optimizer" },
      [option("adam", "Adam", true), option("sgd", "SGD", false)]);
    this.lr = element("input", { type: "text", value: "0.05", "aria-label": "learning rate" });
    this.loss = element("select", { "aria-label": "loss" },
      [option("mse", "mean squared error", true), option("hinge", "hinge", false),
       option("bce", "binary cross-entropy", false)]);
    const button = (text, role) => element("button", { type: "button", text, "data-role": role });
    this.trainButton = button("Train", "train");
    this.stepButton = button("Step", "step");
    this.resetButton = button("Reset", "reset");
    this.codeButton = button("Show code", "code");
    this.moonsButton = button("Two moons", "moons");
    this.clearButton = button("Clear points", "clear");
    this.status = element("div", { class: "mg-pg-status", "data-role": "status",
      "aria-live": "polite", text: "Loading the interpreter…" });
    this.error = element("div", { class: "mg-pg-error", "data-role": "error", role: "alert" });
    this.panels = element("div", { class: "mg-pg-panels", "data-role": "panels" });
    this.graphNote = element("div", { "data-role": "graph-note" });
    this.graph = element("div", { class: "mg-pg-graph", "data-role": "graph",
      title: "click to zoom" });
    this.graph.addEventListener("click", () => this.graph.classList.toggle("mg-pg-zoom"));
    this.code = element("pre", { class: "mg-pg-code", "data-role": "script", hidden: "" });
    const left = element("div", { class: "mg-pg-left" }, [
      this.canvas,
      element("div", { class: "mg-pg-row" }, [...this.classes, this.counts]),
      element("div", { class: "mg-pg-row" }, [this.moonsButton, this.clearButton]),
      element("div", { class: "mg-pg-row" }, [
        element("label", {}, ["hidden layers ", this.layers]),
        element("label", {}, ["activation ", this.activation])]),
      element("div", { class: "mg-pg-row" }, [
        element("label", {}, ["optimizer ", this.optimizer]),
        element("label", {}, ["learning rate ", this.lr]),
        element("label", {}, ["loss ", this.loss])]),
      element("div", { class: "mg-pg-row" }, [this.trainButton, this.stepButton,
        this.resetButton, this.codeButton]),
      this.status, this.error]);
    const right = element("div", { class: "mg-pg-right" }, [
      this.panels, this.graphNote, this.graph]);
    this.root.replaceChildren(style, element("div", { class: "mg-pg" }, [left, right]),
      this.code);
    this.enable(false);

    this.canvas.addEventListener("click", (e) => this.click(e));
    this.trainButton.addEventListener("click", () => this.toggleTraining());
    this.stepButton.addEventListener("click", () => this.step());
    this.resetButton.addEventListener("click", () => this.reset(true));
    this.codeButton.addEventListener("click", () => this.showCode());
    this.moonsButton.addEventListener("click", () => this.reset(false));
    this.clearButton.addEventListener("click", () => this.clearPoints());
    for (const control of [this.layers, this.activation, this.optimizer, this.lr, this.loss]) {
      control.addEventListener("change", () => this.reset(true));
    }
  }

  enable(on) {
    for (const b of [this.trainButton, this.stepButton, this.resetButton, this.codeButton,
      this.moonsButton, this.clearButton]) b.disabled = !on;
  }

  // -- talking to the interpreter --------------------------------------------------------
  async start() {
    this.runtime = new MicrogridRuntime(here);
    try {
      await this.runtime.ready;
    } catch (error) {  // no WebAssembly, the bundle left out of the build, a failed load
      this.status.textContent = "";
      this.error.textContent = error.message === NO_WEBASSEMBLY
        ? "This browser cannot run the playground: it has no WebAssembly. The rest of " +
          "the documentation works without it."
        : error.message;
      return;
    }
    const answer = await this.reset(false);
    if (answer) this.enable(true);
  }

  // One request to microgrid.playground.Controller; the answer, or null after an error
  // (shown). Requests are sent one after another.
  request(message) {
    this.pending += 1;
    const sent = { message: JSON.parse(JSON.stringify(message)), edits: this.edits };
    const run = this.queue.then(() => this.send(sent.message, sent.edits));
    this.queue = run.catch(() => null).finally(() => { this.pending -= 1; });
    return run;
  }

  // `message` as it was when requested, after `edits` edits of the points.
  async send(message, edits) {
    let setup = "";
    let restarted = false;
    if (this.sessionLost) {
      setup = "from microgrid.playground import Controller as _MgController\n" +
        "_mg_playground = _MgController()\n";
      if (message.action !== "reset") {  // a restarted worker: the session starts afresh
        message = { ...this.settings(true), action: "reset", graph: message.graph };
        edits = this.edits;
        restarted = true;
      }
    }
    const code = `${setup}_mg_playground.handle(${JSON.stringify(JSON.stringify(message))})`;
    let answer = null;
    let failure = "";
    let stopped = false;
    this.busy = { started: performance.now() };
    try {
      ({ stopped } = await this.runtime.run(code, {
        onEvent: (event) => {
          if (event.type === "display" && event.json !== undefined) answer = JSON.parse(event.json);
          else if (event.type === "error") failure = event.traceback || event.text || "";
          else if (event.type === "stderr") console.warn(event.text);
        },
      }));
    } catch (error) {
      failure = String(error && error.message || error);
    } finally {
      this.busy = null;
    }
    if (answer === null) {
      this.sessionLost = true;
      this.stopTraining();
      this.error.textContent = stopped
        ? "Stopped: the interpreter was restarted; the network starts afresh."
        : failure || "The interpreter gave no answer.";
      return null;
    }
    this.sessionLost = false;
    if (answer.error) {
      this.error.textContent = answer.error;
      return null;
    }
    this.error.textContent = "";
    if (restarted) this.notice = "the interpreter was restarted: the network started afresh";
    if (answer.updates !== undefined) this.draw(answer, edits);
    return answer;
  }

  settings(withPoints) {
    const out = {
      layers: this.layers.value, activation: this.activation.value,
      optimizer: this.optimizer.value, lr: Number(this.lr.value), loss: this.loss.value,
    };
    if (!(this.lr.value.trim() && Number.isFinite(out.lr))) out.lr = this.lr.value;
    if (withPoints) Object.assign(out, { points: this.points, labels: this.labels });
    return out;
  }

  // -- the buttons -----------------------------------------------------------------------
  async reset(keepPoints) {
    this.stopTraining();
    this.notice = "";
    const message = { action: "reset", ...this.settings(keepPoints), graph: true };
    const answer = await this.request(message);
    if (answer) this.lastGraph = performance.now();
    return answer;
  }

  async step() {
    this.stopTraining();
    this.notice = "";
    if (this.unsent && !(await this.sendPoints())) return;
    await this.request({ action: "step", n: 1, graph: true });
  }

  toggleTraining() {
    if (this.training) {
      this.stopTraining();
      if (this.busy && performance.now() - this.busy.started > STOP_AFTER_MS) {
        this.runtime.stop();  // a long request: end the worker; the session restarts
        this.sessionLost = true;
      }
      return;
    }
    this.training = true;
    this.notice = "";
    this.trainButton.textContent = "Pause";
    this.train();
  }

  stopTraining() {
    if (!this.training) return;
    this.training = false;
    this.trainButton.textContent = "Train";
    // the last picture of the graph is of the last update
    this.request({ action: "step", n: 0, graph: true });
  }

  async train() {
    while (this.training) {
      if (this.unsent && !(await this.sendPoints())) {
        this.stopTraining();
        return;
      }
      const started = performance.now();
      const graph = started - this.lastGraph > GRAPH_EVERY_MS;
      const answer = await this.request({ action: "step", n: this.chunk, graph });
      if (!answer) {
        this.stopTraining();
        return;
      }
      if (graph) this.lastGraph = performance.now();
      const spent = Math.max(1, performance.now() - started);
      this.chunk = Math.max(1, Math.min(50, Math.round(this.chunk * CHUNK_MS / spent)));
    }
  }

  async showCode() {
    const answer = await this.request({ action: "code" });
    if (!answer) return;
    this.code.textContent = answer.code;
    this.code.hidden = false;
    this.code.scrollIntoView({ block: "nearest" });
  }

  clearPoints() {
    this.stopTraining();
    this.points = [];
    this.labels = [];
    this.edits += 1;
    this.drawPlane();
    this.error.textContent = "Add points of both classes (click the plane), then train.";
  }

  // -- the plane --------------------------------------------------------------------------
  toPlane(px, py) {
    const [x0, x1, y0, y1] = this.extent();
    return [x0 + (px / this.canvas.width) * (x1 - x0),
      y1 - (py / this.canvas.height) * (y1 - y0)];
  }

  toCanvas(x, y) {
    const [x0, x1, y0, y1] = this.extent();
    return [((x - x0) / (x1 - x0)) * this.canvas.width,
      ((y1 - y) / (y1 - y0)) * this.canvas.height];
  }

  extent() {
    return this.snapshot ? this.snapshot.extent : [-1.6, 2.6, -1.35, 1.85];
  }

  click(event) {
    if (!this.snapshot) return;
    const box = this.canvas.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * this.canvas.width;
    const py = ((event.clientY - box.top) / box.height) * this.canvas.height;
    let nearest = -1;
    let best = 7 * 7;  // a point within 7 pixels is clicked
    this.points.forEach(([x, y], i) => {
      const [cx, cy] = this.toCanvas(x, y);
      const d = (cx - px) ** 2 + (cy - py) ** 2;
      if (d <= best) { best = d; nearest = i; }
    });
    if (nearest >= 0 && event.shiftKey) {  // shift-click: draw this point's graph
      if (this.samePoints()) this.request({ action: "sample", index: nearest, graph: true });
      return;
    }
    if (nearest >= 0) {
      this.points.splice(nearest, 1);
      this.labels.splice(nearest, 1);
    } else {
      const chosen = this.classes.find((label) => label.querySelector("input").checked);
      this.points.push(this.toPlane(px, py));
      this.labels.push(Number(chosen.querySelector("input").value));
    }
    this.edits += 1;
    this.drawPlane();
    this.sendPoints();
  }

  drawPlane() {
    const ctx = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    ctx.clearRect(0, 0, width, height);
    const snap = this.snapshot;
    const colors = snap ? snap.colors : ["#1f77b4", "#d62728"];
    const values = snap && snap.boundary.values;
    if (values) {  // the margin: class 1's colour above 0, class 0's below, lighter near 0
      const n = values.length;
      const cells = new OffscreenCanvas(n, n);
      const image = cells.getContext("2d").createImageData(n, n);
      const [c0, c1] = colors.map(rgb);
      values.forEach((row, i) => row.forEach((v, j) => {
        const color = v > 0 ? c1 : c0;
        const t = 0.12 + 0.5 * Math.tanh(Math.abs(v));
        const k = 4 * (i * n + j);
        for (let c = 0; c < 3; c++) image.data[k + c] = Math.round(255 + (color[c] - 255) * t);
        image.data[k + 3] = 255;
      }));
      cells.getContext("2d").putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(cells, 0, 0, width, height);
    }
    const sample = snap ? snap.sample.index : -1;
    this.points.forEach(([x, y], i) => {
      const [cx, cy] = this.toCanvas(x, y);
      ctx.beginPath();
      ctx.arc(cx, cy, 4, 0, 2 * Math.PI);
      ctx.fillStyle = colors[this.labels[i]];
      ctx.fill();
      ctx.lineWidth = i === sample && this.samePoints() ? 2.5 : 1;
      ctx.strokeStyle = i === sample && this.samePoints() ? "#000" : "#fff";
      ctx.stroke();
    });
    const n0 = this.labels.filter((c) => c === 0).length;
    this.counts.textContent = `${this.points.length} points: ${n0} of class 0, ` +
      `${this.labels.length - n0} of class 1`;
    this.counts.dataset.count = String(this.points.length);
  }

  // The page's points to the interpreter. Until it has them, the page's are the ones shown;
  // points it refuses (a class left empty) are kept here, unsent, and nothing trains on
  // them: Train and Step send them first, and stop with the message.
  sendPoints() {
    return this.request({ action: "points", points: this.points, labels: this.labels,
      graph: !this.training });
  }

  get unsent() {
    return this.sent !== this.edits;
  }

  samePoints() {
    return this.snapshot && this.snapshot.points.length === this.points.length;
  }

  // -- a snapshot ---------------------------------------------------------------------------
  draw(snap, edits) {
    this.snapshot = snap;
    if (edits === this.edits) {  // no edit since the request: its points are the page's
      this.points = snap.points.map((p) => [...p]);
      this.labels = [...snap.labels];
      this.sent = edits;
    }
    this.dot0.style.background = snap.colors[0];
    this.dot1.style.background = snap.colors[1];
    this.drawPlane();
    const n = snap.updates;
    const parts = [`update ${n}`];
    if (n) {
      parts.push(`loss ${snap.losses[n - 1].toPrecision(4)}`);
      parts.push(`accuracy ${(100 * snap.accuracy[n - 1]).toFixed(1)}%`);
    }
    if (this.notice) parts.push(this.notice);
    this.status.textContent = parts.join(" · ");
    this.status.dataset.updates = String(n);
    this.status.dataset.loss = n ? String(snap.losses[n - 1]) : "";
    this.status.dataset.firstLoss = n ? String(snap.losses[0]) : "";
    // the SVG charts are microgrid's own (microgrid.viz.panels, as in the live view)
    this.panels.replaceChildren(picture(snap.panels.loss, "the loss per update"),
      picture(snap.panels.accuracy, "the accuracy per update"),
      ...snap.panels.weights.map((svg, i) => picture(svg, `weights and gradients ${i}`)));
    const s = snap.sample;
    if (s.svg || s.message) {
      this.graphNote.textContent = `The graph of point ${s.index} (class ${s.label}) and ` +
        `its loss${s.loss === null ? "" : " " + s.loss.toPrecision(4)}, after update ${n}: ` +
        "grad is ∂loss/∂node for this point alone.";
      if (s.svg) this.graph.replaceChildren(picture(s.svg, `the graph of point ${s.index}`));
      else this.graph.textContent = s.message;
    }
  }
}

const root = document.getElementById("microgrid-playground");
if (root) {
  const playground = new Playground(root);
  root.playground = playground;  // for the browser test and the curious
  playground.start();
}
