"""``deepleak`` command line: run chapters, train a profile's models, verify data, stage the book.

Every user mistake surfaces as one line on stderr and exit status 2 (see ``errors.DeepLeakError``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .errors import DeepLeakError


def _cmd_run(args: argparse.Namespace) -> None:
    from .runner import run_chapter

    out = run_chapter(args.chapter, args.profile, progress=not args.quiet)
    print(out)


def _cmd_setup(args: argparse.Namespace) -> None:
    from .profiles import load_params
    from .study import SetupConfig, Study

    cfg = SetupConfig.from_dict(load_params(args.profile, "00_setup"))
    print(Study(cfg).train_all(progress=not args.quiet).to_string(index=False))


def _cmd_data(args: argparse.Namespace) -> None:
    from .data import load_dataset
    from .paths import data_dir

    name, download = args.name, args.download
    if args.profile:
        from .profiles import load_params

        params = load_params(args.profile, "00_setup")
        name, download = params.get("dataset", "mnist5k"), bool(params.get("download", False))
    if not name:
        raise DeepLeakError("name a dataset or pass --profile")
    sums_file = data_dir() / "checksums.json"
    sums = json.loads(sums_file.read_text()) if sums_file.is_file() else {}
    ds = load_dataset(name, download=download)
    got = ds.fingerprint()
    want = sums.get(name)
    if want is not None and got != want:
        raise DeepLeakError(f"{name} checksum {got[:12]}... != recorded {want[:12]}... in {sums_file}; "
                            "replace the data files")
    # Torchvision datasets have no recorded pool checksum: torchvision verifies its archives' md5.
    status = "ok" if want is not None else "not recorded (torchvision checked the archive md5)"
    if args.stamp:
        from pathlib import Path

        Path(args.stamp).write_text(f"{name} {got}\n")
    print(f"{name}: {len(ds)} images {ds.shape}, sha256 {got} {status}")


def _cmd_stage_book(args: argparse.Namespace) -> None:
    from .book import stage_book

    print(stage_book(args.profile))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deepleak", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="execute one chapter notebook with papermill")
    r.add_argument("chapter", help="chapter stem, e.g. 00_setup")
    r.add_argument("--profile", default="default")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("setup", help="train (or load from cache) every model of a profile")
    s.add_argument("--profile", default="default")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=_cmd_setup)

    d = sub.add_parser("data", help="load a dataset and check it against data/checksums.json")
    d.add_argument("name", nargs="?", help="dataset registry key")
    d.add_argument("--profile", help="check the dataset named in params/<profile>/00_setup.yaml")
    d.add_argument("--download", action="store_true", help="allow torchvision to download it")
    d.add_argument("--stamp", help="file to write when the check passes (a make prerequisite)")
    d.set_defaults(func=_cmd_data)

    b = sub.add_parser("stage-book", help="copy book pages and executed chapters into _build/<profile>/src")
    b.add_argument("--profile", default="default")
    b.set_defaults(func=_cmd_stage_book)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except DeepLeakError as err:
        print(f"deepleak: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
