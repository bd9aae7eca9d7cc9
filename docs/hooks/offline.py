"""MkDocs hook: the notebook pages load MathJax, require.js and the Jupyter widget renderer
from this site instead of from CDNs, so the whole site works offline from a plain file
server.

The files come from the npm packages ``web/package-lock.json`` pins (installed by
``npm ci``, see ``npm.py``) and are copied into ``<site>/assets/vendor/``. On each page the
CDN addresses nbconvert's template writes (its defaults, and the MathJax address in
``mkdocs.yml``) are replaced by relative paths to those copies; the widget renderer is told
to look for any widget module it does not carry in the same folder, not on a CDN; the
loader of Mermaid (a CDN import, run only for Mermaid diagrams) is dropped from pages that
have none.

Without npm or a network the pages keep the CDN addresses (they work online) and the
build says, at INFO level, that the site is not offline-safe and why.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any

import npm  # docs/hooks/npm.py: MkDocs puts a hook's folder on the path while loading it
from mkdocs.utils import get_relative_url

log = logging.getLogger("mkdocs.hooks.offline")

VENDOR = "assets/vendor"  # in the site
FILES = {  # folder in VENDOR -> (its npm package's folder, the files of it the pages load)
    "requirejs": ("requirejs", ["require.js"]),
    # MathJax 2's TeX input and CommonHTML output with the TeX fonts (woff): what the
    # notebooks' configuration uses. Left out: the other outputs and fonts, the
    # accessibility extensions (a11y) and the unpacked sources, loaded only on request.
    "mathjax": ("mathjax", ["MathJax.js", "LICENSE", "config/TeX-AMS_CHTML-full.js",
                            "config/Safe.js", "extensions/*.js", "extensions/TeX/*.js",
                            "extensions/HTML-CSS/*.js", "jax/input/TeX/*.js",
                            "jax/element/**/*.js", "jax/output/CommonHTML/**/*.js",
                            "fonts/HTML-CSS/TeX/woff/*.woff"]),
    # The renderer of embedded widget state (ipywidgets' controls built in) and its icon
    # fonts, found beside it: woff2, the first its style sheet offers; the older formats
    # (woff, ttf, eot, svg) only browsers from before 2016 would fetch are left out.
    "html-manager": ("@jupyter-widgets/html-manager/dist", ["embed-amd.js", "*.woff2"]),
}
RENDERER = f"{VENDOR}/html-manager/embed-amd.js"
MERMAID = re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded",'
                     r' async \(\) => \{\s*const diagrams = document\.querySelectorAll\('
                     r'"\.jp-Mermaid.*?</script>', re.S)

_state: dict[str, Any] = {"urls": {}}  # CDN address -> site path, when the files are here


def cdn_urls(config: Any) -> dict[str, str]:
    """The CDN addresses a notebook page holds -> the site paths of their local copies."""
    from nbconvert.exporters.html import HTMLExporter

    traits = HTMLExporter.class_traits()
    widgets = traits["jupyter_widgets_base_url"].default_value
    semver = traits["html_manager_semver_range"].default_value
    mathjax = config.plugins["mkdocs-jupyter"].config["custom_mathjax_url"]
    query = mathjax.partition("?")[2]
    return {
        mathjax: f"{VENDOR}/mathjax/MathJax.js" + (f"?{query}" if query else ""),
        traits["require_js_url"].default_value: f"{VENDOR}/requirejs/require.js",
        f"{widgets}@jupyter-widgets/html-manager@{semver}/dist/embed-amd.js": RENDERER,
        # the template's choice for widget state older than ipywidgets 7, which the
        # ipywidgets this project requires never writes: pointed here too, never a CDN
        f"{widgets}@jupyter-js-widgets@*/dist/embed.js": RENDERER,
    }


def needed() -> list[str]:
    """The files that must be in node_modules (the first of each package)."""
    return [f"{package}/{names[0]}" for package, names in FILES.values()]


def on_config(config: Any) -> Any:
    modules, why = npm.node_modules(needed())
    if modules is None:
        _state["urls"] = {}
        log.info("the site is not offline-safe: its notebook pages load MathJax, require.js "
                 f"and the widget renderer from CDNs, because {why}")
    else:
        _state["urls"] = cdn_urls(config)
    return config


def on_post_page(output: str, page: Any, config: Any) -> str:
    if not _state["urls"]:
        return output
    here = page.url
    for cdn, target in _state["urls"].items():
        path, mark, query = target.partition("?")
        output = output.replace(cdn, get_relative_url(path, here) + mark + query)
    if RENDERER in _state["urls"].values() and "embed-amd.js" in output:
        # widget modules the renderer does not carry are looked for beside it, never on a CDN
        folder = get_relative_url(f"{VENDOR}/html-manager", here) + "/"
        head, end, tail = output.rpartition("</body>")
        output = (f'{head}<script data-jupyter-widgets-cdn="{folder}" '
                  f"data-jupyter-widgets-cdn-only></script>\n{end}{tail}")
    if 'class="jp-Mermaid' not in output:  # no diagram: the loader's CDN import goes
        output = MERMAID.sub("", output)
    return output


def copy_files(modules: Path, site: Path) -> int:
    """Copy the files of FILES into ``site``; their total size in bytes."""
    total = 0
    for folder, (package, patterns) in FILES.items():
        source = modules / package
        for pattern in patterns:
            found = sorted(p for p in source.glob(pattern) if p.is_file())
            if not found:
                raise FileNotFoundError(f"web/node_modules/{package}/{pattern} matches nothing")
            for path in found:
                target = site / VENDOR / folder / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                total += path.stat().st_size
    return total


def on_post_build(config: Any) -> None:
    if not _state["urls"]:
        return
    total = copy_files(npm.MODULES, Path(config["site_dir"]))
    log.info(f"the notebook pages' MathJax, require.js and widget renderer are served from "
             f"{VENDOR}/ ({total / 1e6:.1f} MB)")
