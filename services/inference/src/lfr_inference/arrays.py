"""The numpy array types the inference code passes around, named by dtype.

numpy's type hints carry the dtype, not the shape: each function's docstring says the shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

AnyArray = npt.NDArray[np.generic]  # a model's inputs: each network takes its own dtype
Float32Array = npt.NDArray[np.float32]  # embeddings, templates, scores, boxes and landmarks
Float64Array = npt.NDArray[np.float64]
FloatArray = npt.NDArray[np.floating[Any]]  # whichever float width the caller has
UInt8Array = npt.NDArray[np.uint8]  # images (RGB, H x W x 3) and int8-offset probes
Int8Array = npt.NDArray[np.int8]
Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]  # row indices
BoolArray = npt.NDArray[np.bool_]
