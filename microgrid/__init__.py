"""microgrid: a scalar reverse-mode automatic-differentiation engine for learning backprop.

>>> from microgrid import Value
>>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
>>> f = (x + y) * z
>>> f.backward()
>>> f.data, x.grad, y.grad, z.grad
(-12.0, -4.0, -4.0, 3.0)
"""

from .autodiff import GradcheckError, grad, gradcheck, hessian
from .engine import Value, wsum, zero_grad
from .graph import topological_order

__all__ = [
    "GradcheckError",
    "Value",
    "grad",
    "gradcheck",
    "hessian",
    "topological_order",
    "wsum",
    "zero_grad",
]
__version__ = "0.1.0"
