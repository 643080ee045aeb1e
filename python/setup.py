"""Build of atomic_json_io._ajio: the extension compiles libajio's C sources itself.

In a git checkout the sources are ../src and ../include (the library's own). An sdist carries
a copy of them under libajio/ (made by the sdist command below), so that the wheel built from
the unpacked sdist, or pip install from it, needs nothing but a C compiler and Python's headers.
The version is libajio's AJIO_VERSION_* from ajio.h: one source of the version.
"""

import glob
import os
import re
import shutil

from setuptools import Extension, setup
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
# setuptools takes source paths relative to the project directory, wherever make runs it from.
os.chdir(HERE)
CHECKOUT = os.path.join(HERE, "..")
BUNDLED = "libajio"


def _libajio_root():
    """Relative (setuptools wants relative source paths) root holding src/ and include/."""
    if os.path.isfile(os.path.join(CHECKOUT, "include", "ajio.h")) and os.path.isdir(
        os.path.join(CHECKOUT, "src")
    ):
        return os.path.relpath(CHECKOUT, HERE)
    if os.path.isfile(os.path.join(HERE, BUNDLED, "include", "ajio.h")):
        return BUNDLED
    raise SystemExit("atomic-json-io: libajio sources not found (../src or libajio/src)")


def _version(header):
    with open(header, encoding="utf-8") as f:
        text = f.read()
    parts = []
    for part in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(r"^#define AJIO_VERSION_%s (\d+)" % part, text, re.M)
        if not m:
            raise SystemExit("atomic-json-io: AJIO_VERSION_%s not found in %s" % (part, header))
        parts.append(m.group(1))
    return ".".join(parts)


class SdistWithLibajio(sdist):
    """Puts a copy of libajio's sources into the sdist, and nothing from outside python/."""

    def make_release_tree(self, base_dir, files):
        files = [f for f in files if not os.path.normpath(f).startswith("..")]
        super().make_release_tree(base_dir, files)
        root = os.path.join(HERE, _libajio_root())
        for sub, pattern in (("src", "*.[ch]"), ("include", "*.h")):
            dest = os.path.join(base_dir, BUNDLED, sub)
            os.makedirs(dest, exist_ok=True)
            for path in sorted(glob.glob(os.path.join(root, sub, pattern))):
                shutil.copy2(path, dest)
        for name in ("LICENSE",):
            src = os.path.join(root, name)
            if os.path.isfile(src) and not os.path.exists(os.path.join(base_dir, name)):
                shutil.copy2(src, base_dir)


ROOT = _libajio_root()
LIB_SOURCES = sorted(glob.glob(os.path.join(ROOT, "src", "*.c")))
EXT_SOURCES = sorted(glob.glob(os.path.join("csrc", "*.c")))

ext = Extension(
    "atomic_json_io._ajio",
    sources=EXT_SOURCES + LIB_SOURCES,
    include_dirs=[os.path.join(ROOT, "include"), os.path.join(ROOT, "src"), "csrc"],
    define_macros=[("_GNU_SOURCE", None)],
    # libajio's symbols stay inside the extension: only PyInit__ajio is exported.
    extra_compile_args=["-std=gnu11", "-fvisibility=hidden", "-O2"],
    depends=sorted(glob.glob(os.path.join(ROOT, "src", "*.h")))
    + [os.path.join(ROOT, "include", "ajio.h")]
    + sorted(glob.glob(os.path.join("csrc", "*.h"))),
)

setup(
    version=_version(os.path.join(ROOT, "include", "ajio.h")),
    packages=["atomic_json_io"],
    package_data={"atomic_json_io": ["py.typed", "*.pyi"]},
    ext_modules=[ext],
    cmdclass={"sdist": SdistWithLibajio},
)
