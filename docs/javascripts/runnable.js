// Runnable docs: every Python example of a page gets Run and Edit buttons. Run executes it
// with the real microgrid in the page (the Lab's interpreter, docs/lab/runtime.js, loaded
// on the first Run), and shows its printed output and its diagrams under it. One
// interpreter serves the whole page, so a later example sees the names an earlier one
// made, as in a notebook; Stop ends a run (the interpreter restarts, its names are gone).
//
// The examples are the code blocks MkDocs highlights as Python (div.language-python, from
// pymdownx.highlight's pygments_lang_class; signatures of the API reference excluded) and
// the input cells of the notebook pages (mkdocs-jupyter's div.highlight-ipynb.hl-python),
// those of them that import nothing the page's interpreter lacks (IMPORTABLE). Without the
// Lab's bundle in the site (lab/manifest.json incomplete or missing) no button is added.

const LAB = new URL("../lab/", import.meta.url);
const EXAMPLES = [
  ".md-typeset div.language-python:not(.doc-signature) > pre > code",
  ".jp-CodeCell .highlight-ipynb.hl-python > pre",
];
// What the page's Python has: microgrid, its dependencies and the standard library's
// modules that work in the browser (no threads, processes or sockets).
const IMPORTABLE = new Set([
  "microgrid", "graphviz", "tqdm", "IPython", "__future__", "abc", "array", "base64",
  "bisect", "cmath", "collections", "copy", "csv", "dataclasses", "datetime", "decimal",
  "enum", "fractions", "functools", "hashlib", "heapq", "html", "io", "itertools", "json",
  "math", "numbers", "operator", "os", "pathlib", "pickle", "pprint", "random", "re",
  "statistics", "string", "struct", "sys", "tempfile", "textwrap", "time", "timeit",
  "types", "typing", "warnings",
]);

let runtime = null; // {rt, Output} once the first Run has loaded runtime.js

async function interpreter() {
  if (!runtime) {
    runtime = import(new URL("runtime.js", LAB).href).then(({ MicrogridRuntime, Output }) => (
      { rt: new MicrogridRuntime(LAB), Output }));
  }
  return runtime;
}

// microgrid's modules that need what the page lacks (microgrid.plot draws with matplotlib);
// a name bound to one, like a name an example left out made, leaves out what uses it.
const UNAVAILABLE = new Set(["microgrid.plot"]);
const NEEDS_PLOT = /\.plot\s*\(/; // History.plot() and its kind draw with matplotlib

/** The imports of `code`: [{module, names}], names being what each binds. */
export function imports(code) {
  const found = [];
  for (const line of code.split("\n")) {
    const from = line.match(/^\s*from\s+([\w.]+)\s+import\s+\(?([^#)]*)/);
    const plain = line.match(/^\s*import\s+([^#]+)/);
    if (from) {
      for (const part of from[2].split(",")) {
        const [name, alias] = part.trim().split(/\s+as\s+/);
        if (!name) continue;
        const module = UNAVAILABLE.has(`${from[1]}.${name}`) ? `${from[1]}.${name}` : from[1];
        found.push({ module, names: [alias || name] });
      }
    } else if (plain) {
      for (const part of plain[1].split(",")) {
        const [module, alias] = part.trim().split(/\s+as\s+/);
        if (module) found.push({ module, names: [alias || module.split(".")[0]] });
      }
    }
  }
  return found;
}

function importable(module) {
  const parts = module.split(".");
  return IMPORTABLE.has(parts[0]) &&
    !parts.some((_, i) => UNAVAILABLE.has(parts.slice(0, i + 1).join(".")));
}

/** The names `code` binds at its top level: assignments, for and with targets, functions,
 * classes and imports. */
export function defines(code) {
  const names = imports(code).flatMap((i) => i.names);
  for (const line of code.split("\n")) {
    const assigned = line.match(/^([A-Za-z_][\w\s,()[\]*]*?)\s*(?:[-+*/@%&|^]|\/\/|\*\*)?=(?!=)/);
    const loop = line.match(/^(?:async\s+)?for\s+(.+?)\s+in\b/);
    const scope = line.match(/^(?:async\s+)?(?:def|class)\s+(\w+)/);
    const withAs = line.match(/^(?:async\s+)?with\b.*\bas\s+([\w\s,()]+):/);
    for (const m of [assigned, loop, withAs]) {
      if (m) names.push(...(m[1].match(/[A-Za-z_]\w*/g) || []));
    }
    if (scope) names.push(scope[1]);
  }
  return names;
}

/** Which of a page's examples (in page order, one interpreter) the page can run: those
 * with no shell (!) or IPython magic (%) line that import only what the page has and use
 * no name that an example left out made or that is bound to a module the page lacks. */
export function choose(examples) {
  const missing = new Set();
  return examples.map((code) => {
    const found = imports(code);
    for (const i of found) if (!importable(i.module)) i.names.forEach((n) => missing.add(n));
    const body = code.split("\n").filter((line) => !/^\s*(?:from|import)\s/.test(line))
      .join("\n");
    const ok = !/^\s*[!%]/m.test(code) && !NEEDS_PLOT.test(code) &&
      found.every((i) => IMPORTABLE.has(i.module.split(".")[0])) &&
      ![...missing].some((name) => new RegExp(`(?<![\\w.])${name}\\b`).test(body));
    if (!ok) defines(code).forEach((n) => missing.add(n));
    return ok;
  });
}

/** Whether the page's interpreter can run `code` on its own. */
export function runnable(code) {
  return choose([code])[0];
}

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

/** Add the buttons and the output area to one example. */
function attach(code, place) {
  const original = code.textContent.replace(/\n$/, "");
  const pre = code.tagName === "PRE" ? code : code.parentElement;
  const run = element("button", { className: "microgrid-run", type: "button",
    textContent: "▶ Run", title: "run this example in the page (Ctrl+Enter while editing)" });
  const edit = element("button", { className: "microgrid-edit", type: "button",
    textContent: "Edit", title: "change the code, then run it" });
  const status = element("span", { className: "microgrid-run-status" });
  const area = element("div", { className: "microgrid-run-output", ariaLive: "polite" });
  const bar = element("div", { className: "microgrid-run-bar" }, run, edit, status);
  const box = element("div", { className: "microgrid-runnable" }, bar, area);
  place.after(box);
  let editor = null;
  let pending = false;

  async function execute() {
    if (pending) { // the button reads Stop
      (await interpreter()).rt.stop();
      return;
    }
    pending = true;
    run.textContent = "■ Stop";
    run.title = "stop the run (the interpreter restarts; its names are gone)";
    area.replaceChildren();
    const began = performance.now();
    try {
      const { rt, Output } = await interpreter();
      const output = new Output(area);
      status.textContent = "Loading Python and microgrid…";
      rt.ready.then(() => { if (pending) status.textContent = "Running…"; }, () => {});
      const { ok, stopped } = await rt.run(editor ? editor.value : original, {
        onEvent: (event) => output.show(event),
      });
      const seconds = ((performance.now() - began) / 1000).toFixed(2);
      status.textContent = stopped ? "Stopped." : ok ? `Done in ${seconds} s.`
        : `Failed after ${seconds} s.`;
    } catch (error) { // runtime.js could not be loaded
      runtime = null;
      status.textContent = "";
      area.replaceChildren(element("pre", { className: "microgrid-output-error",
        textContent: `The page's interpreter could not be loaded: ${error.message}` }));
    } finally {
      pending = false;
      run.textContent = "▶ Run";
      run.title = "run this example in the page";
      box.dataset.runs = String(Number(box.dataset.runs || 0) + 1);
    }
  }

  function toggle() {
    if (editor) { // back to the example as written
      editor.remove();
      editor = null;
      pre.style.display = "";
      edit.textContent = "Edit";
      return;
    }
    editor = element("textarea", { className: "microgrid-editor", value: original,
      spellcheck: false, ariaLabel: "Python code", rows: original.split("\n").length + 1 });
    editor.setAttribute("autocapitalize", "off");
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (!pending) execute();
      }
    });
    pre.style.display = "none"; // (not `hidden`: the themes set pre's display)
    pre.after(editor);
    edit.textContent = "Reset";
    edit.title = "back to the example as written";
    editor.focus();
  }

  run.addEventListener("click", () => { execute(); });
  edit.addEventListener("click", toggle);
}

async function start() {
  const found = [];
  for (const selector of EXAMPLES) {
    for (const code of document.querySelectorAll(selector)) {
      if (code.closest(".microgrid-runnable, #microgrid-lab, #microgrid-playground")) continue;
      found.push(code);
    }
  }
  found.sort((a, b) => a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
  const chosen = choose(found.map((code) => code.textContent));
  // a notebook cell: under its input; a Markdown block: under the block
  const examples = found.filter((_, i) => chosen[i]).map((code) => [code,
    code.closest(".jp-Cell-inputWrapper") || code.closest("div.highlight") || code.parentElement]);
  if (!examples.length) return;
  let manifest = null;
  try {
    const answer = await fetch(new URL("manifest.json", LAB));
    manifest = answer.ok ? await answer.json() : null;
  } catch (error) {
    manifest = null; // the Lab is not part of this site, or the page is a file
  }
  if (!manifest || !manifest.complete) return;
  for (const [code, place] of examples) attach(code, place);
  document.body.dataset.microgridRunnable = String(examples.length);
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
