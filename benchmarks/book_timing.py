"""Time the book pipeline: chapter run times of the last cold build, a warm no-op `make book`, and
per-model training time, side by side.

Usage (after a cold `make clean && make book`):  .venv/bin/python benchmarks/book_timing.py --profile default
"""

from __future__ import annotations

import argparse
import subprocess
import time

import pandas as pd

from deepleak_lib import repro
from deepleak_lib.profiles import load_params
from deepleak_lib.study import SetupConfig, Study


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    args = ap.parse_args()

    chapters = repro.run_times(args.profile)
    cold = float(chapters.seconds.sum())
    t0 = time.perf_counter()
    subprocess.run(["make", "book", f"PROFILE={args.profile}"], check=True, capture_output=True)
    warm = time.perf_counter() - t0

    study = Study(SetupConfig.from_dict(load_params(args.profile, "00_setup")))
    models = study.train_all(progress=False)

    print(f"profile: {args.profile}")
    print(chapters[["chapter", "seconds"]].to_string(index=False))
    print(f"chapters, cold (sum of papermill durations): {cold:8.1f} s")
    print(f"make book, warm no-op:                       {warm:8.2f} s   (cold/warm = {cold / warm:,.0f}x)")
    per_model = models.train_seconds
    print(pd.DataFrame({"models": [len(models)], "train s (mean)": [per_model.mean()],
                        "train s (min)": [per_model.min()], "train s (max)": [per_model.max()]}).round(1)
          .to_string(index=False))


if __name__ == "__main__":
    main()
