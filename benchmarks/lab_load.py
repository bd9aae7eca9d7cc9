"""What the Lab costs in a browser: a cold load to the first result, and training speed.

    python benchmarks/lab_load.py               # 3 cold loads, 3 training rounds each side
    python benchmarks/lab_load.py --rounds 5 --epochs 20

The Lab is built on its own (``docs/hooks/lab.py``'s build, into a temporary folder),
served by Python's static server on 127.0.0.1 and opened in headless Chromium (Debian's
``chromium`` driven by Playwright).

* **Cold load**: each round opens the page in a fresh browser context (empty HTTP cache, no
  compiled WebAssembly kept) and reads the seconds from the start of navigation to the
  interpreter being ready (Python, microgrid and Graphviz loaded) and to the first result
  (the slide's run shown: its printed output and its diagram).
* **Training**: the demo's workload — 100 two-moons points, MLP 2-8-8-1 (tanh, fused),
  hinge loss, Adam, ``--epochs`` epochs of ``microgrid.train.fit`` — timed by
  ``time.perf_counter`` around ``fit`` alone, the same code in the page's editor and in a
  fresh native CPython process (this one's interpreter). The ratio is page / native.

Printed: median [min–max] of the rounds.

Measured on the development machine (2 CPUs shared with other work, so the figures vary):
see the README's Lab section for the last run's numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAB = "#microgrid-lab"

WORKLOAD = """import time
from microgrid.data import make_moons
from microgrid.nn import MLP
from microgrid.optim import Adam
from microgrid.train import fit

X, y = make_moons(100, noise=0.1, seed=0)
model = MLP(2, [8, 8, 1], activation="tanh", init="xavier", seed=0, fused=True)
start = time.perf_counter()
fit(model, X, y, loss="hinge", optimizer=Adam(model.parameters(), lr=0.05),
    epochs=EPOCHS, seed=0, progress=False)
print(f"SECONDS {time.perf_counter() - start:.6f}")
"""


def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lab_builder", ROOT / "docs/hooks/lab.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seconds_of(text: str) -> float:
    found = re.search(r"SECONDS ([\d.]+)", text)
    if found is None:
        raise RuntimeError(f"the workload printed no time:\n{text}")
    return float(found.group(1))


def native(code: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True)
    return seconds_of(done.stdout)


def wait(page: Any, script: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script)
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {script}")
        time.sleep(0.05)


def summary(values: list[float], unit: str = "s") -> str:
    return (f"{statistics.median(values):.2f} {unit} "
            f"[{min(values):.2f}–{max(values):.2f}]")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import CHROMIUM_ARGS, chromium  # the tests' way of finding Chromium
    from playwright.sync_api import sync_playwright

    lab = builder()
    code = WORKLOAD.replace("EPOCHS", str(args.epochs))
    with tempfile.TemporaryDirectory() as tmp:
        manifest = lab.build(Path(tmp), lambda text: print(text, file=sys.stderr),
                             standalone=True)
        if not manifest["complete"]:
            return 1
        print(lab.sizes(manifest))
        loads, firsts, page_runs = [], [], []
        parts: list[dict[str, float]] = []
        with lab.serve(Path(tmp)) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            for i in range(args.rounds):
                context = browser.new_context()
                page = context.new_page()
                page.goto(url)
                wait(page, f"() => document.querySelector('{LAB}').dataset.firstResultAt")
                data = page.evaluate(f"() => ({{...document.querySelector('{LAB}').dataset}})")
                loads.append(float(data["loadedAt"]))
                parts.append(json.loads(data["loadParts"]))
                firsts.append(float(data["firstResultAt"]))
                for n in range(2, 2 + args.rounds) if i == 0 else ():  # train in one
                    page.fill(f"{LAB} textarea", code)
                    page.click(f"{LAB} .mg-run")
                    wait(page, f"() => Number(document.querySelector('{LAB}').dataset.runs)"
                               f" >= {n}", timeout=600)
                    page_runs.append(seconds_of(page.inner_text(f"{LAB} .mg-output")))
                context.close()
            browser.close()
    natives = [native(code) for _ in range(args.rounds)]
    ratios = [p / statistics.median(natives) for p in page_runs]
    print(f"cold load, navigation to interpreter ready: {summary(loads)}")
    print(f"cold load, navigation to the first result:  {summary(firsts)}")
    for name in parts[0]:
        print(f"  in the worker, from its start: {name} in by "
              f"{summary([p[name] for p in parts])}")
    print(f"training, {args.epochs} epochs of the demo's MLP: page {summary(page_runs)}, "
          f"native CPython {sys.version.split()[0]} {summary(natives)}")
    print(f"page / native: {summary(ratios, '×')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
