#!/usr/bin/env python3
"""Writes the small data set the deployment example trains on and classifies (examples/data/).

Three classes of measurements whose features live on scales three to five orders of magnitude
apart, so that a network trained on them unscaled learns poorly and a model used without the
Standardizer it was trained with is wrong. Deterministic: rerunning it rewrites the same files.

    python3 examples/data/make_blobs.py
"""
import os
import random

# Per class: the mean of each feature; per feature: the spread. Feature 3 is noise.
MEANS = [(4000.0, 0.020, 0.0, 200.0), (5000.0, 0.035, 0.0, 150.0), (6000.0, 0.030, 0.0, 300.0)]
SPREAD = (400.0, 0.004, 1.0, 30.0)
NAMES = ("length_um", "mass_kg", "noise", "hue")


def rows(count, rng):
    for k in range(count):
        label = k % 3
        yield [rng.gauss(m, s) for m, s in zip(MEANS[label], SPREAD)], label


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(20261207)
    with open(os.path.join(here, "blobs_train.csv"), "w") as out:
        out.write(",".join(NAMES) + ",class\n")
        for values, label in rows(300, rng):
            out.write(",".join(f"{v:.6g}" for v in values) + f",{label}\n")
    with open(os.path.join(here, "blobs_new.csv"), "w") as out, \
            open(os.path.join(here, "blobs_new_labels.txt"), "w") as labels:
        out.write(",".join(NAMES) + "\n")
        for values, label in rows(90, rng):
            out.write(",".join(f"{v:.6g}" for v in values) + "\n")
            labels.write(f"{label}\n")


if __name__ == "__main__":
    main()
