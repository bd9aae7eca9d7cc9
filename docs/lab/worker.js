// The Lab's interpreter: Python (Pyodide) with microgrid, in a Web Worker.
//
// Loads, from this folder only (nothing from another host):
//   vendor/pyodide.mjs and the files beside it  the interpreter and its standard library
//   vendor/viz.js                               Graphviz compiled to WebAssembly (viz-js)
//   manifest.json, wheels/*.whl                 microgrid's wheel, graphviz's, tqdm's
//   labrun.py                                   runs a cell and reports what it shows
// The viz-js instance is put on globalThis.microgridVizJs, where microgrid.viz.render
// finds it under Pyodide (renderer "viz-js").
//
// Protocol (structured-clone messages):
//   page -> worker  {id, code}                 run code in the shared namespace
//   worker -> page  {type: "ready"}            loaded; runs start now
//                   {type: "failed", text}     could not load (the page shows text)
//                   {id, type: "stdout"|"stderr", text}
//                   {id, type: "display", svg|html|json|text}
//                   {id, type: "error", traceback}
//                   {id, type: "done", ok}     the run ended (ok: false after an error)
// Runs are taken one at a time, in the order they were sent.

import { loadPyodide } from "./vendor/pyodide.mjs";
import { instance as vizInstance } from "./vendor/viz.js";

const here = new URL("./", import.meta.url);

async function load() {
  const manifest = await (await fetch(new URL("manifest.json", here))).json();
  if (!manifest.complete) {
    throw new Error("this build of the site left the Lab out:\n" + manifest.missing.join("\n"));
  }
  const vendor = new URL("vendor/", here).href;
  const [pyodide, viz] = await Promise.all([
    loadPyodide({
      indexURL: vendor,
      lockFileURL: vendor + "pyodide-lock.json",
      stdLibURL: vendor + "python_stdlib.zip",
      packages: [],
      stdout: (text) => console.log(text),
      stderr: (text) => console.warn(text),
    }),
    vizInstance(),
  ]);
  globalThis.microgridVizJs = viz;
  const files = [...Object.keys(manifest.wheels).map((name) => "wheels/" + name), "labrun.py"];
  const bodies = await Promise.all(files.map(async (name) => {
    const response = await fetch(new URL(name, here));
    if (!response.ok) throw new Error(`${name}: ${response.status} ${response.statusText}`);
    return response.arrayBuffer();
  }));
  files.forEach((name, i) => {
    if (name.endsWith(".whl")) pyodide.unpackArchive(bodies[i], "wheel");
    else pyodide.FS.writeFile("/home/pyodide/" + name, new Uint8Array(bodies[i]));
  });
  pyodide.runPython(
    "import sys\nsys.path.insert(0, '/home/pyodide')\n" +
    "import labrun\nlabrun.install()\nimport microgrid, microgrid.viz, microgrid.viz.render");
  return pyodide.pyimport("labrun");
}

const ready = load().then(
  (labrun) => { self.postMessage({ type: "ready" }); return labrun; },
  (error) => { self.postMessage({ type: "failed", text: String(error && error.message || error) }); return null; },
);

self.onmessage = async (event) => {
  const { id, code } = event.data;
  const labrun = await ready;
  if (labrun === null) {
    self.postMessage({ id, type: "error", traceback: "The Lab's interpreter did not load." });
    self.postMessage({ id, type: "done", ok: false });
    return;
  }
  const emit = (type, field, text) => self.postMessage({ id, type, [field]: text });
  let ok = false;
  try {
    ok = labrun.run(code, emit);
  } catch (error) {  // an error of the runner itself, not of the cell
    emit("error", "traceback", String(error && error.message || error));
  }
  self.postMessage({ id, type: "done", ok });
};
