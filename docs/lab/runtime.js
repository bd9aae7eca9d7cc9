// microgrid in the page: the main thread's side of the Lab's worker (worker.js).
//
//   import { MicrogridRuntime, Output } from "<lab folder>/runtime.js";
//   const rt = new MicrogridRuntime(labFolderUrl);   // starts loading at once
//   await rt.ready;                                  // rejects with a plain message
//   const out = new Output(element);                 // shows a run's events
//   const { ok, stopped } = await rt.run(code, { onEvent: (e) => out.show(e) });
//   rt.stop();                                       // end the worker, start a fresh one
//
// Events are the worker's messages (see worker.js): {type: "stdout"|"stderr", text},
// {type: "display", svg|html|json|text}, {type: "error", traceback}, {type: "done", ok}.
// Runs queue: each starts when the one before has ended. stop() ends the running code
// (an endless loop included) by ending the worker; the runs it cut short resolve with
// {ok: false, stopped: true}, and the fresh interpreter starts with an empty namespace.
//
// What the page shows of a run cannot reach into the page: an SVG is shown as an image
// (<img>: no script runs, nothing is fetched), HTML in an iframe sandboxed with scripts
// allowed and no access to the page (a player's buttons work, its code stays inside).

export const NO_WEBASSEMBLY =
  "This browser cannot run the Lab: it has no WebAssembly. The rest of the documentation " +
  "works without it.";

export class MicrogridRuntime {
  constructor(baseUrl = new URL("./", import.meta.url)) {
    this.baseUrl = new URL(baseUrl, location.href);
    this._next = 1;
    this._start();
  }

  _start() {
    this._runs = new Map(); // id -> {resolve, onEvent}
    this._tail = Promise.resolve();
    if (typeof WebAssembly !== "object" || typeof Worker !== "function") {
      this.worker = null;
      this.ready = Promise.reject(new Error(NO_WEBASSEMBLY));
      this.ready.catch(() => {});
      return;
    }
    const worker = new Worker(new URL("worker.js", this.baseUrl), { type: "module" });
    this.worker = worker;
    this.ready = new Promise((resolve, reject) => {
      worker.onmessage = (event) => {
        const message = event.data;
        if (message.type === "ready") { this.loadSeconds = message.seconds; return resolve(); }
        if (message.type === "failed") return reject(new Error(message.text));
        const run = this._runs.get(message.id);
        if (!run) return;
        if (run.onEvent) run.onEvent(message);
        if (message.type === "done") {
          this._runs.delete(message.id);
          run.resolve({ ok: message.ok, stopped: false });
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        const text = event.message || "the worker failed";
        reject(new Error("The Lab's interpreter could not start: " + text));
        for (const [id, run] of this._runs) { // the worker broke mid-run: end those runs
          if (run.onEvent) run.onEvent({ id, type: "error", traceback: text });
          run.resolve({ ok: false, stopped: false });
        }
        this._runs.clear();
      };
    });
    this.ready.catch(() => {});
  }

  /** Run `code`; resolves with {ok, stopped} once it has ended. */
  run(code, { onEvent } = {}) {
    const id = this._next++;
    const worker = this.worker;
    const result = new Promise((resolve) => {
      this._runs.set(id, { resolve, onEvent });
      this.ready.then(
        () => { if (this.worker === worker) worker.postMessage({ id, code }); },
        (error) => {
          if (!this._runs.has(id)) return;
          this._runs.delete(id);
          if (onEvent) onEvent({ id, type: "error", traceback: error.message });
          resolve({ ok: false, stopped: false });
        });
    });
    return result;
  }

  /** True while a run has been sent and not ended. */
  get busy() {
    return this._runs.size > 0;
  }

  /** End the worker (and whatever it runs), then start a fresh one. */
  stop() {
    const runs = this._runs;
    if (this.worker) this.worker.terminate();
    this._start();
    for (const [id, run] of runs) {
      if (run.onEvent) run.onEvent({ id, type: "done", ok: false, stopped: true });
      run.resolve({ ok: false, stopped: true });
    }
  }
}

const FRAME_SCRIPT =
  "<script>(function(){function tell(){parent.postMessage({microgridFrameHeight:" +
  "document.documentElement.scrollHeight},'*')}new ResizeObserver(tell)" +
  ".observe(document.documentElement);addEventListener('load',tell);tell()})()</script>";
const MAX_FRAME_HEIGHT = 3000;

// One listener for every sandboxed frame: each tells its height, the page sizes it.
if (typeof window !== "undefined") {
  window.addEventListener("message", (event) => {
    const height = event.data && event.data.microgridFrameHeight;
    if (typeof height !== "number" || !isFinite(height)) return;
    for (const frame of document.querySelectorAll("iframe.microgrid-output-frame")) {
      if (frame.contentWindow === event.source) {
        frame.style.height = Math.min(Math.ceil(height) + 2, MAX_FRAME_HEIGHT) + "px";
      }
    }
  });
}

/** Shows a run's events in `element`: text streams, pictures, HTML, tracebacks. */
export class Output {
  constructor(element) {
    this.element = element;
    this._stream = null; // the <pre> the last text went to, and its type
  }

  clear() {
    this.element.replaceChildren();
    this._stream = null;
  }

  show(event) {
    const doc = this.element.ownerDocument;
    if (event.type === "stdout" || event.type === "stderr") {
      if (!this._stream || this._stream.type !== event.type) {
        const pre = doc.createElement("pre");
        pre.className = "microgrid-output-" + event.type;
        this.element.append(pre);
        this._stream = { type: event.type, pre, text: "" };
      }
      this._stream.text = carriageReturns(this._stream.text + event.text);
      this._stream.pre.textContent = this._stream.text;
      return;
    }
    this._stream = null;
    if (event.type === "error") {
      const pre = doc.createElement("pre");
      pre.className = "microgrid-output-error";
      pre.textContent = event.traceback;
      this.element.append(pre);
    } else if (event.type === "display") {
      this.element.append(displayed(doc, event));
    } else if (event.type === "done" && event.stopped) {
      const p = doc.createElement("p");
      p.className = "microgrid-output-stopped";
      p.textContent = "Stopped: the interpreter was restarted (its variables are gone).";
      this.element.append(p);
    }
  }
}

/** Text as a terminal shows it: a carriage return goes back to the start of its line. */
function carriageReturns(text) {
  if (!text.includes("\r")) return text;
  return text.split("\n").map((line) => {
    const parts = line.split("\r");
    let shown = parts[parts.length - 1];
    if (shown === "" && parts.length > 1) shown = parts[parts.length - 2];
    return shown;
  }).join("\n");
}

function displayed(doc, event) {
  const box = doc.createElement("div");
  box.className = "microgrid-output-display";
  if (event.svg !== undefined) {
    const img = doc.createElement("img");
    img.className = "microgrid-output-svg";
    img.alt = "a diagram";
    img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(event.svg);
    box.append(img);
  } else if (event.html !== undefined) {
    const frame = doc.createElement("iframe");
    frame.className = "microgrid-output-frame";
    frame.setAttribute("sandbox", "allow-scripts");
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.srcdoc = "<!DOCTYPE html><meta charset='utf-8'><style>body{margin:0;" +
      "font-family:sans-serif}</style>" + event.html + FRAME_SCRIPT;
    box.append(frame);
  } else {
    const pre = doc.createElement("pre");
    pre.className = "microgrid-output-text";
    pre.textContent = event.json !== undefined ? event.json : event.text;
    box.append(pre);
  }
  return box;
}
