"""The front-end files that slides and the site need (reveal.js, MathJax), copied next to them.

assets.json pins each package like a package-lock does: its npm registry tarball and the tarball's
sha512 integrity. The tarball is fetched once into a cache folder (DLTEACH_ASSET_CACHE, or
~/.cache/dlteach/npm), checked against that hash, and only the files a deck needs are copied out.
No Node.js is needed, and a built deck or site never reaches the network: every script, style sheet
and font it loads lies in its own assets/ folder.

To build on a machine without internet, copy the cached .tgz files (or the tarballs from the
registry, names as in assets.json) into the cache folder first.
"""

import base64
import fnmatch
import hashlib
import json
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["LOCK", "AssetError", "cache_dir", "tarball", "install"]

LOCK = Path(__file__).with_name("assets.json")
FETCH_TIMEOUT_S = 60


class AssetError(Exception):
    """A pinned front-end package could not be fetched or failed its integrity check."""


def packages():
    """{name: entry} from assets.json."""
    return json.loads(LOCK.read_text())["packages"]


def cache_dir():
    """Where fetched tarballs are kept: $DLTEACH_ASSET_CACHE, else ~/.cache/dlteach/npm."""
    configured = os.environ.get("DLTEACH_ASSET_CACHE")
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dlteach" / "npm"
    base.mkdir(parents=True, exist_ok=True)
    return base


def _integrity(data):
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def tarball(name):
    """Path of the verified tarball of the pinned package `name`, fetching it if it is not cached."""
    entry = packages().get(name)
    if entry is None:
        raise AssetError(f"assets: no package {name!r} in {LOCK.name}; expected one of {sorted(packages())}")
    path = cache_dir() / entry["tarball"].rsplit("/", 1)[-1]
    if path.exists() and _integrity(path.read_bytes()) == entry["integrity"]:
        return path
    try:
        with urllib.request.urlopen(entry["tarball"], timeout=FETCH_TIMEOUT_S) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise AssetError(
            f"assets: could not fetch {name} {entry['version']} from {entry['tarball']} ({exc}). Slides and the "
            f"site need it once, to copy it next to them; connect to the internet, or put "
            f"{path.name} into {path.parent} (or set DLTEACH_ASSET_CACHE to a folder that holds it)") from exc
    got = _integrity(data)
    if got != entry["integrity"]:
        raise AssetError(f"assets: {entry['tarball']} has integrity {got}, expected {entry['integrity']} "
                         f"(from {LOCK.name}); refusing to use it")
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def install(dest):
    """Copy every pinned package's files into dest/<name>/ (dest/reveal.js/dist/reveal.js, ...).

    Returns {name: folder}. Files already there with the same size are left alone, so rebuilding a
    deck does not rewrite its assets.
    """
    dest = Path(dest)
    folders = {}
    for name, entry in packages().items():
        target = dest / name
        with tarfile.open(tarball(name)) as tar:
            for member in tar.getmembers():
                inner = member.name.split("/", 1)[-1]           # drop the tarball's "package/" folder
                if not member.isfile() or not any(fnmatch.fnmatch(inner, pattern) for pattern in entry["files"]):
                    continue
                out = target / inner
                if out.exists() and out.stat().st_size == member.size:
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        folders[name] = target
    return folders
