"""Small dense linear algebra in pure Python: :func:`solve` (what Newton's step needs).

Gaussian elimination with partial pivoting: at each column the row with the largest
entry becomes the pivot, so the multipliers stay ≤ 1 and rounding stays small; a pivot
below 10⁻¹² of the largest entry means the matrix is singular (or nearly so).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import _validate as check

__all__ = ["solve"]


def solve(a: Sequence[Sequence[float]], b: Sequence[float]) -> list[float]:
    """x with A·x = b, by Gaussian elimination with partial pivoting (pure Python)."""
    a, b = check.rows(a, "solve: A"), check.sequence(b, "solve: b")
    n = len(b)
    rows = [[check.real(v, f"solve: A[{i}][{j}]") for j, v in enumerate(
        check.sequence(row, f"solve: A[{i}]"))] + [check.real(bi, f"solve: b[{i}]")]
        for i, (row, bi) in enumerate(zip(a, b))]
    if len(rows) != n or any(len(r) != n + 1 for r in rows):
        raise ValueError(f"solve: A must be {n}×{n} to match b")
    scale = max((abs(v) for r in rows for v in r[:n]), default=0.0)
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        if abs(rows[pivot][col]) <= 1e-12 * scale or scale == 0.0:
            raise ValueError("solve: the matrix is singular (or nearly so)")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        top = rows[col]
        for r in range(col + 1, n):
            f = rows[r][col] / top[col]
            if f:
                row = rows[r]
                for k in range(col, n + 1):
                    row[k] -= f * top[k]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        s = rows[r][n] - sum(rows[r][k] * x[k] for k in range(r + 1, n))
        x[r] = s / rows[r][r]
    return x
