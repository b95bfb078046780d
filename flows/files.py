"""Files written whole or not at all: readers of the reports folder (a web server, a feed
reader polling, the mail step) never see half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(
    paths: tuple[Path, ...], write: Callable[..., None], binary: bool = False
) -> None:
    """Write files through `write(file, ...)`, one open file a path: readers (a mail step, a
    web server) never see half of any, and none is replaced unless all were written."""
    temporary: list[str] = []
    try:
        with contextlib.ExitStack() as files:
            opened = []
            for path in paths:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
                temporary.append(tmp)
                mode = (
                    {"mode": "wb"} if binary else {"mode": "w", "encoding": "utf-8", "newline": ""}
                )
                opened.append(files.enter_context(os.fdopen(fd, **mode)))
            write(*opened)
        for tmp, path in zip(temporary, paths, strict=True):
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; a web server must read reports
            os.replace(tmp, path)
    except BaseException:
        for tmp in temporary:
            Path(tmp).unlink(missing_ok=True)
        raise


def write_file(path: Path, content: str | bytes) -> None:
    """One file, as write_atomically writes them (text as UTF-8)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    write_atomically((path,), lambda f: f.write(data), binary=True)
