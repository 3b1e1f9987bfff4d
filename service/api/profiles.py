"""``/api/v1/profiles``: the province profiles this service ships, and the one it runs."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.api.deps import ServicesDep, require_role
from service.errors import NotFound
from service.profiles.load import ProfileError, available, load_profile
from service.profiles.schema import Profile

router = APIRouter(
    prefix="/api/v1/profiles", tags=["profiles"], dependencies=[Depends(require_role("platform", "staff"))]
)


def summary(profile: Profile, active: str) -> dict:
    return {
        "name": profile.name,
        "province": profile.province,
        "platform": profile.platform,
        "active": profile.name == active,
        "forms": list(profile.forms),
        "routes": list(profile.choices("route")),
        "certificate_title": profile.certificate.title,
    }


@router.get("", summary="可用的省份配置（ZC_PROFILE 选择其一）")
def list_profiles(services: ServicesDep) -> list[dict]:
    folder, active = services.settings.profiles_dir, services.profile.name
    listed = []
    for name in available(folder):
        try:
            listed.append(summary(load_profile(name, folder), active))
        except ProfileError as exc:  # another province's broken file: said, not fatal to this one
            listed.append({"name": name, "active": False, "error": str(exc)})
    return listed


@router.get("/{name}", summary="一个省份配置的全部内容（词表、证书标签、承诺书、盖章栏、表单）")
def read_profile(name: str, services: ServicesDep) -> dict:
    folder = services.settings.profiles_dir
    if name not in available(folder):
        raise NotFound(f"没有名为 {name} 的省份配置；可用：{'、'.join(available(folder))}")
    return load_profile(name, folder).model_dump(mode="json")
