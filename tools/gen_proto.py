"""Generate the protobuf/gRPC stubs in libs/proto from proto/lfr/**.proto.

`python tools/gen_proto.py` rewrites libs/proto/src/lfr_proto/lfr; `--check` generates into a temporary
folder and exits 1 if the committed stubs differ (the CI staleness check).
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = ROOT / "proto"
TARGET = ROOT / "libs" / "proto" / "src" / "lfr_proto"


def generate(out_dir: Path) -> None:
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}", *protos]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for path in out_dir.rglob("*.py*"):
        # grpc_tools emits absolute imports of the proto package ("from lfr.x.v1 import y_pb2"); the stubs
        # live inside the lfr_proto distribution, so anchor them there.
        text = path.read_text()
        fixed = re.sub(r"^from lfr\.", "from lfr_proto.lfr.", text, flags=re.M)
        path.write_text(fixed)
    for folder in [out_dir / "lfr", *[p for p in (out_dir / "lfr").rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()


def same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    return all(same_tree(a / d, b / d) for d in cmp.common_dirs if d != "__pycache__")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed stubs are stale")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generate(out)
        if ns.check:
            current = TARGET / "lfr"
            if not current.exists() or not same_tree(out / "lfr", current):
                sys.stderr.write("generated stubs are stale: run `uv run python tools/gen_proto.py`\n")
                return 1
            return 0
        shutil.rmtree(TARGET / "lfr", ignore_errors=True)
        shutil.copytree(out / "lfr", TARGET / "lfr", ignore=shutil.ignore_patterns("__pycache__"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
