"""Reading profiles from their folder, validated once, at start-up.

A profile that does not validate stops the service with the file, the key and what is
wrong: a province's paper is never printed from half a profile."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from service import PROFILES_DIR
from service.profiles.schema import Profile

NAME_SUFFIX = ".toml"


class ProfileError(ValueError):
    """A profile that is missing or does not validate (the message names file and key)."""


def available(folder: Path) -> list[str]:
    """The names of the profiles in ``folder``, sorted."""
    return sorted(path.stem for path in folder.glob(f"*{NAME_SUFFIX}"))


def load_profile(name: str, folder: Path) -> Profile:
    """The profile ``name`` from ``folder``, validated (cached per file and its modification time)."""
    path = folder / f"{name}{NAME_SUFFIX}"
    if not path.is_file():
        known = "、".join(available(folder)) or "（无）"
        raise ProfileError(f"没有名为 {name!r} 的省份配置（ZC_PROFILE）：{folder} 中有 {known}")
    stat = path.stat()
    return _load(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _load(path: Path, _mtime: int, _size: int) -> Profile:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path.name}: 不是合法的 TOML：{exc}") from None
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"{path.name}: " + "；".join(_describe(e) for e in exc.errors())) from None
    if profile.name != path.stem:
        raise ProfileError(f"{path.name}: name = {profile.name!r} 与文件名不符")
    return profile


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(文件)"
    if error["type"] == "extra_forbidden":
        return f"{where}: 未知的键"
    if error["type"] == "missing":
        return f"{where}: 缺少此键"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


DEFAULT_PROFILE = "hubei"


def default_profile() -> Profile:
    """The profile a render gets when it is handed none (the shipped Hubei profile)."""
    return load_profile(DEFAULT_PROFILE, PROFILES_DIR)
