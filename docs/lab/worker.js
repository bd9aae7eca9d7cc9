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
//   worker -> page  {type: "ready", seconds}   loaded; runs start now (seconds: when the
//                                              interpreter, graphviz, microgrid were in)
//                   {type: "failed", text}     could not load (the page shows text)
//                   {id, type: "stdout"|"stderr", text}
//                   {id, type: "display", svg|html|json|text}
//                   {id, type: "error", traceback}
//                   {id, type: "done", ok}     the run ended (ok: false after an error)
// Runs are taken one at a time, in the order they were sent.

const here = new URL("./", import.meta.url);

async function fetched(name) {
  const response = await fetch(new URL(name, here));
  if (!response.ok) throw new Error(`${name}: ${response.status} ${response.statusText}`);
  return response.arrayBuffer();
}

async function load() {
  const began = performance.now();
  const seconds = {};
  const lap = (name) => { seconds[name] = (performance.now() - began) / 1000; };
  const listed = await fetch(new URL("manifest.json", here));
  if (!listed.ok) {
    throw new Error("The Lab's files are not on this site (manifest.json: " + listed.status +
      "): build it with docs/hooks/lab.py (see the README).");
  }
  const manifest = await listed.json();
  if (!manifest.complete) {
    throw new Error("This build of the site left the Lab out:\n" + manifest.missing.join("\n"));
  }
  const vendor = new URL("vendor/", here).href;
  // the interpreter, Graphviz and microgrid's wheels are fetched side by side
  const interpreter = import(vendor + "pyodide.mjs").then(({ loadPyodide }) => loadPyodide({
    indexURL: vendor,
    lockFileURL: vendor + "pyodide-lock.json",
    stdLibURL: vendor + "python_stdlib.zip",
    packages: [],
    stdout: (text) => console.log(text),
    stderr: (text) => console.warn(text),
  })).then((pyodide) => { lap("interpreter"); return pyodide; });
  const graphviz = import(vendor + "viz.js").then(({ instance }) => instance())
    .then((viz) => { lap("graphviz"); return viz; });
  const files = [...Object.keys(manifest.wheels).map((name) => "wheels/" + name), "labrun.py"];
  const [pyodide, viz, bodies] = await Promise.all(
    [interpreter, graphviz, Promise.all(files.map(fetched))]);
  globalThis.microgridVizJs = viz;
  files.forEach((name, i) => {
    if (name.endsWith(".whl")) pyodide.unpackArchive(bodies[i], "wheel");
    else pyodide.FS.writeFile("/home/pyodide/" + name, new Uint8Array(bodies[i]));
  });
  pyodide.runPython(
    "import sys\nsys.path.insert(0, '/home/pyodide')\n" +
    "import labrun\nlabrun.install()\nimport microgrid, microgrid.viz, microgrid.viz.render");
  lap("microgrid");
  return { labrun: pyodide.pyimport("labrun"), seconds };
}

const ready = load().then(
  ({ labrun, seconds }) => { self.postMessage({ type: "ready", seconds }); return labrun; },
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
