// The Lab page: an editor, Run and Stop, and what the run shows, with microgrid running in
// a Web Worker (runtime.js). It fills the element #microgrid-lab of the page that loads
// it (docs/lab.md on the site, standalone.html on its own) and runs the editor's code
// once the interpreter has loaded.
//
// The editor is a plain <textarea>: Tab indents by four spaces (Shift+Tab takes them
// back; Escape then Tab moves on to the next control), Ctrl+Enter or Shift+Enter runs. Without JavaScript the page says so; without
// WebAssembly it says that instead.

import { MicrogridRuntime, NO_WEBASSEMBLY, Output } from "./runtime.js";

const EXAMPLES = {
  "The slide: f = (x + y)·z": `from microgrid import Value, draw_dot

x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
q = x + y          # q = 3
q.label = "q"
f = q * z          # f = -12
f.label = "f"
f.backward()
print("f =", f.data)
print("grads:", x.grad, y.grad, z.grad)   # ∂f/∂x = ∂f/∂y = z, ∂f/∂z = x + y
draw_dot(f)
`,
  "Step through it: forward pass, then backprop": `from microgrid import Value
from microgrid.viz import Player

x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
q = x + y
q.label = "q"
f = q * z
f.label = "f"
# The buttons (or the keys ← →) step through the forward pass, then backprop;
# the current node is drawn in red.
Player(f)
`,
  "One neuron: o = tanh(w·x + b)": `from microgrid import Value, draw_dot

x0, x1 = Value(2.0, "x0"), Value(0.0, "x1")
w0, w1, b = Value(-3.0, "w0"), Value(1.0, "w1"), Value(6.8813735870195432, "b")
n = x0 * w0 + x1 * w1 + b
n.label = "n"
o = n.tanh()
o.label = "o"
o.backward()
print(f"o = {o.data:.4f}")
print(f"do/dw0 = {w0.grad:.4f}, do/dx0 = {x0.grad:.4f}")
draw_dot(o, show_local=True)
`,
  "Train a small network on two moons": `from microgrid.data import make_moons
from microgrid.nn import MLP
from microgrid.optim import Adam
from microgrid.train import accuracy, fit

X, y = make_moons(100, noise=0.1, seed=0)
model = MLP(2, [8, 8, 1], activation="tanh", init="xavier", seed=0, fused=True)
fit(model, X, y, loss="hinge", optimizer=Adam(model.parameters(), lr=0.05),
    epochs=20, seed=0, progress=True)
print(f"training accuracy: {accuracy(model, X, y):.1%}")
`,
};

const STYLE = `
#microgrid-lab .mg-bar{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}
#microgrid-lab button{font:inherit;padding:4px 14px;border:1px solid #888;border-radius:4px;
  background:#f4f4f4;color:#222;cursor:pointer}
#microgrid-lab button:disabled{opacity:.45;cursor:default}
#microgrid-lab select{font:inherit;max-width:100%}
#microgrid-lab textarea{width:100%;box-sizing:border-box;min-height:18em;font-family:
  ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;line-height:1.45;
  padding:8px;border:1px solid #bbb;border-radius:4px;tab-size:4;resize:vertical;
  background:#fcfcfc;color:#111}
#microgrid-lab .mg-status{color:#666;font-size:90%}
#microgrid-lab .mg-output{border-top:1px solid #ddd;margin-top:8px;padding-top:4px}
#microgrid-lab .mg-output pre{margin:4px 0;padding:6px 8px;white-space:pre-wrap;
  font-size:13px;background:#f6f6f6;color:#111}
#microgrid-lab .microgrid-output-stderr{background:#fff4e5}
#microgrid-lab .microgrid-output-error{background:#fdecea;color:#8a1c12}
#microgrid-lab .microgrid-output-svg{max-width:100%;height:auto;display:block;
  background:#fff;margin:4px 0}
#microgrid-lab .microgrid-output-frame{width:100%;border:1px solid #ddd;height:120px;
  background:#fff}
#microgrid-lab .mg-message{padding:8px 10px;border-left:4px solid #c0392b;background:#fdf3f2}
`;

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

function indent(editor, event) {
  const { selectionStart: start, selectionEnd: end, value } = editor;
  const lineStart = value.lastIndexOf("\n", start - 1) + 1;
  if (!event.shiftKey && start === end) {
    editor.setRangeText("    ", start, end, "end");
    return;
  }
  const block = value.slice(lineStart, end);
  const changed = event.shiftKey
    ? block.replace(/^ {1,4}/gm, "")
    : block.replace(/^/gm, "    ");
  editor.setRangeText(changed, lineStart, end, "select");
}

function start(root) {
  root.replaceChildren();
  root.append(element("style", { textContent: STYLE }));
  const choose = element("select", { title: "examples", ariaLabel: "examples" },
    ...Object.keys(EXAMPLES).map((name) => element("option", { value: name, textContent: name })));
  const editor = element("textarea", {
    className: "mg-editor", spellcheck: false, ariaLabel: "Python code",
    value: EXAMPLES[choose.value],
  });
  editor.setAttribute("autocapitalize", "off");
  editor.setAttribute("autocomplete", "off");
  const run = element("button", { className: "mg-run", textContent: "▶ Run", disabled: true,
    title: "run the code (Ctrl+Enter)" });
  const stop = element("button", { className: "mg-stop", textContent: "■ Stop", disabled: true,
    title: "stop the run (the interpreter restarts)" });
  const status = element("span", { className: "mg-status", textContent: "Loading Python and microgrid…" });
  const area = element("div", { className: "mg-output", ariaLive: "polite" });
  root.append(element("div", { className: "mg-bar" }, choose),
    editor, element("div", { className: "mg-bar" }, run, stop, status), area);

  if (typeof WebAssembly !== "object") {
    status.textContent = "";
    area.append(element("p", { className: "mg-message", textContent: NO_WEBASSEMBLY }));
    return;
  }
  const output = new Output(area);
  const runtime = new MicrogridRuntime(new URL("./", import.meta.url));
  const loadStarted = performance.now();
  let running = 0;

  function idle() {
    run.disabled = false;
    stop.disabled = running === 0;
  }

  async function execute() {
    output.clear();
    running += 1;
    run.disabled = true;
    stop.disabled = false;
    status.textContent = "Running…";
    const began = performance.now();
    const { ok, stopped } = await runtime.run(editor.value, { onEvent: (e) => output.show(e) });
    running -= 1;
    if (running === 0) {
      status.textContent = stopped ? "Stopped." : `${ok ? "Done" : "Failed"} in ` +
        `${((performance.now() - began) / 1000).toFixed(2)} s.`;
    }
    idle();
    root.dataset.runs = String(Number(root.dataset.runs || 0) + 1);
    return ok;
  }

  run.addEventListener("click", () => { execute(); });
  stop.addEventListener("click", () => {
    runtime.stop();
    status.textContent = "Stopped; restarting the interpreter…";
    runtime.ready.then(() => { if (running === 0) status.textContent = "Stopped. Ready."; }, () => {});
  });
  let shown = choose.value; // the example the editor holds, unless edited since
  choose.addEventListener("change", () => {
    const edited = editor.value !== EXAMPLES[shown];
    if (edited && !window.confirm("Replace the code you edited with this example?")) {
      choose.value = shown;
      return;
    }
    shown = choose.value;
    editor.value = EXAMPLES[shown];
  });
  let escaped = false; // Escape, then Tab: leave the editor (Tab alone indents)
  editor.addEventListener("keydown", (event) => {
    const leaving = escaped;
    escaped = event.key === "Escape";
    if (event.key === "Tab" && !leaving && !event.ctrlKey && !event.altKey && !event.metaKey) {
      event.preventDefault();
      indent(editor, event);
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey || event.shiftKey)) {
      event.preventDefault();
      if (!run.disabled) execute();
    }
  });

  runtime.ready.then(
    () => {
      const seconds = (performance.now() - loadStarted) / 1000;
      root.dataset.loadSeconds = seconds.toFixed(2);
      root.dataset.loadedAt = (performance.now() / 1000).toFixed(3); // since navigation began
      root.dataset.loadParts = JSON.stringify(runtime.loadSeconds || {}); // in the worker
      status.textContent = `Python and microgrid loaded in ${seconds.toFixed(1)} s.`;
      run.disabled = false;
      execute().then(() => {
        root.dataset.firstResultSeconds = ((performance.now() - loadStarted) / 1000).toFixed(2);
        root.dataset.firstResultAt = (performance.now() / 1000).toFixed(3);
      });
    },
    (error) => {
      status.textContent = "";
      area.replaceChildren(element("p", { className: "mg-message", textContent: error.message }));
    });
}

const root = document.getElementById("microgrid-lab");
if (root) start(root);
