"""The diagrams' colours, by role (after torchviz).

The output is green, parameters are blue, other leaves (the data) are yellow, constants
grey, a box standing for a collapsed neuron lavender; highlighted nodes get a thick red
border.
"""

__all__ = ["COLORS"]

COLORS = {
    "output": "darkolivegreen1",
    "parameter": "lightblue",
    "input": "lightyellow",
    "constant": "gray93",
    "interior": "white",
    "box": "lavender",
    "op": "gray88",
    "highlight": "red",
    "grad": "#b03a2e",
    "unknown": "gray55",
    "flow": "#c0392b",
    "cluster": "gray97",
}
"""Fill and line colours of the diagram, by role."""
