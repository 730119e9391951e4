"""Print the normalisation constants (median, IQR / 1.349) of every feature over a folder.

    python scripts/reference_norms.py assets/voices

Prints lines to paste into `voicejudge.audio.features.NORMS`, which holds the values for the
bundled demo voices (except `bandwidth_native_hz`, which has a physical scale: the 16 kHz voices
cannot show its spread); re-run it and update NORMS only together with a change of
FEATURES_VERSION.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from voicejudge.audio import FEATURE_NAMES, extract_features
from voicejudge.audio.sample_set import load_sample_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    rows = [extract_features(sample.clip()).model_dump() for sample in load_sample_set(args.folder)]
    norms = {}
    for name in FEATURE_NAMES:
        values = np.array([row[name] for row in rows if row[name] is not None], dtype=float)
        q25, median, q75 = np.percentile(values, [25, 50, 75])
        # Where most values are equal (clipping) the IQR is 0: use half the spread instead.
        scale = (q75 - q25) / 1.349 if q75 > q25 else max(0.5 * values.std(), 1e-6)
        norms[name] = (float(f"{median:.4g}"), float(f"{scale:.4g}"))
    width = max(len(name) for name in norms) + 3
    for name, (median, scale) in norms.items():
        print(f"    {json.dumps(name) + ':':<{width}} ({median!r}, {scale!r}),")


if __name__ == "__main__":
    main()
