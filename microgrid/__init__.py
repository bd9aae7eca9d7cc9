"""microgrid: a scalar reverse-mode automatic-differentiation engine for learning backprop.

>>> from microgrid import Value
>>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
>>> f = (x + y) * z
>>> f.backward()
>>> f.data, x.grad, y.grad, z.grad
(-12.0, -4.0, -4.0, 3.0)
"""

from . import data, losses, nn, optim, plot, serialization, train  # noqa: F401  (submodules)
from .autodiff import GradcheckError, grad, gradcheck, hessian
from .compile import compile_step, gc_paused
from .engine import Value, wsum, zero_grad
from .graph import topological_order
from .recording import Block, block, block_of, blocks
from .stepper import backward_steps, forward_steps, grads_after
from .viz import LiveView, draw_dot, export_html, watch
from .viz.explorer import explore
from .viz.gradients import gradient_report

__all__ = [
    "Block",
    "GradcheckError",
    "LiveView",
    "Value",
    "backward_steps",
    "block",
    "block_of",
    "blocks",
    "compile_step",
    "draw_dot",
    "explore",
    "export_html",
    "forward_steps",
    "gc_paused",
    "grad",
    "gradcheck",
    "gradient_report",
    "grads_after",
    "hessian",
    "topological_order",
    "watch",
    "wsum",
    "zero_grad",
]
__version__ = "0.1.0"
