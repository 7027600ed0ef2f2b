"""A predictor's hook to the compiled step: whole-block coding by :mod:`codec.predictors.kernel`.

The C step is loaded when a predictor is built, not with ``codec``: listing archives,
``--help`` and the format code start without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from codec.predictors.kernel import KernelStep


class CompiledBlocks:
    """Whole-block coding for a predictor that has a :class:`KernelStep` in ``_kernel`` (or None)
    and its extra inputs in ``_extra``: :func:`codec.predictors.encode_block` and the decoder use
    these when they are present and return a result."""

    _kernel: KernelStep | None
    _extra: tuple
    _case: np.ndarray | None = None  # the block's (T, lanes) lowercase grid, where the model reads it

    def _compiled(self) -> bool:
        """Whether this step runs compiled (the numpy reference otherwise)."""
        if self._kernel is None:
            return False
        from codec.predictors import kernel

        return kernel.runs_here()

    def encode_steps(self, steps: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The encoder's whole block compiled, or None where steps must go one by one (no compiled
        path here, or an extra input such as the network)."""
        if self._extra or not self._compiled():
            return None
        return self._kernel.encode(steps, counts, self._case)

    def decode_steps(self, decoder, counts: np.ndarray, steps: np.ndarray) -> bool:
        """Decode a whole block with ``decoder`` (a :class:`codec.coder.LaneDecoder`) into ``steps``
        compiled; False, with nothing done, where steps must go one by one."""
        if self._extra or not self._compiled():
            return False
        self._kernel.decode(decoder, counts, steps, self._case)
        return True
