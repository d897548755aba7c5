"""Write scikit-learn's bundled digits data set into a folder that trainaction can register.

    python examples/digits/prepare_data.py OUT_DIR

OUT_DIR gets ``digits.npz`` (``images``: float32 in [0, 1], shape (N, 64), one flattened
8x8 image per row; ``labels``: int64 in 0-9) and a short ``README.txt``. The data ships
with scikit-learn, so nothing is downloaded, and the output is the same on every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

README = """\
Handwritten digits (scikit-learn's load_digits; a copy of the UCI ML optical digits test set).

digits.npz
  images  float32, shape ({count}, 64): 8x8 grey images, flattened row by row, scaled to [0, 1]
  labels  int64,   shape ({count},):    the digit shown, 0-9

Written by examples/digits/prepare_data.py.
"""


def write_digits(out_dir: Path) -> Path:
    """Save the digits arrays and a README into ``out_dir``; return the path of the .npz file."""
    digits = load_digits()
    # Pixel values are integers 0-16 in the source data.
    images = (digits.data / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "digits.npz"
    # Uncompressed: np.savez output is byte-for-byte reproducible.
    np.savez(target, images=images, labels=labels)
    (out_dir / "README.txt").write_text(README.format(count=len(labels)), encoding="utf-8")
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python examples/digits/prepare_data.py OUT_DIR", file=sys.stderr)
        return 2
    target = write_digits(Path(argv[0]))
    print(f"wrote {target} and README.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
