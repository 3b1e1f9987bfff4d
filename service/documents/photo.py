"""Holder photos: check what was uploaded, then fit it to the photo box.

``check_photo`` runs once, at the boundary (contract validation), so that a bad
file is a 422 naming the field; what it returns carries the fitted picture the
forms and certificates print, so nothing decodes the photo again.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import simplejpeg
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# 2-inch ID photo: 35 × 49 mm at 300 dpi.
PHOTO_MM = (35.0, 49.0)
PHOTO_DPI = 300
PHOTO_PX = (round(PHOTO_MM[0] / 25.4 * PHOTO_DPI), round(PHOTO_MM[1] / 25.4 * PHOTO_DPI))

_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


class PhotoError(ValueError):
    """The upload is not a usable photo; the message says why, in Chinese."""


@dataclass(frozen=True)
class CheckedPhoto:
    """A photo decoded and checked once: the file as uploaded (kept in the file store),
    what it is, and the picture fitted to the 2-inch box (what every document prints)."""

    content: bytes = field(repr=False)
    media_type: str
    width: int
    height: int
    fitted_jpeg: bytes = field(repr=False)


def check_photo(data: bytes, *, max_bytes: int, max_side: int, declared: str | None = None) -> CheckedPhoto:
    """Decode ``data`` fully: refuse what is not a usable JPEG or PNG, or not the type
    ``declared`` (``PhotoError``, in Chinese), and fit what is to the photo box."""
    if len(data) > max_bytes:
        raise PhotoError(f"照片文件过大：最多 {max_bytes // (1024 * 1024)} MB，当前 {len(data) / 1048576:.1f} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                # The header gives the size before any pixel is decoded: refuse a
                # decompression bomb here, not after it has eaten the memory.
                if max(image.size) > max_side:
                    raise PhotoError(
                        f"照片尺寸过大：长宽均不能超过 {max_side} 像素，当前 {image.size[0]}×{image.size[1]}"
                    )
                if image.format not in _FORMATS:
                    raise PhotoError("照片应为 JPEG 或 PNG 格式")
                if declared is not None and declared != _FORMATS[image.format]:
                    raise PhotoError(
                        f"照片类型与声明不符：media_type 为 {declared}，"
                        f"文件实际是 {image.format} 图片，请改正 media_type 或重新导出照片"
                    )
                if not _ends_properly(data, image.format):
                    raise PhotoError("照片文件已损坏或不完整，请重新上传（文件结尾缺失）")
                _decode_strictly(image, data)
                checked = CheckedPhoto(data, _FORMATS[image.format], image.size[0], image.size[1], _fit(image))
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("照片像素数异常巨大，疑似压缩炸弹，已拒绝") from None
    except UnidentifiedImageError:
        raise PhotoError("照片文件无法识别：不是 JPEG 或 PNG 图片") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(f"照片文件已损坏或不完整，请重新上传（{_damage_of(exc)}）") from None
    return checked


def _damage_of(error: Exception) -> str:
    """What a decoding failure says of the file, in words a clerk can pass on (never the
    exception's class name: 「（OSError）」 tells an applicant nothing)."""
    if isinstance(error, SyntaxError):
        return "文件结构错误"
    if isinstance(error, ValueError):
        return "图像参数无效"
    return "图像数据无法完整解码"


# WeasyPrint sets Pillow's LOAD_TRUNCATED_IMAGES for the whole process when it is
# imported: load() then fills what is missing with black instead of failing. The check
# turns it off while it decodes (one photo at a time per process, so that the flag is
# restored exactly as found); the worker processes render in the same thread, never
# while a photo is being checked.
_STRICT_DECODING = threading.Lock()


@contextmanager
def _strict_pillow() -> Iterator[None]:
    with _STRICT_DECODING:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before


def _decode_strictly(image: Image.Image, data: bytes) -> None:
    """Decode every pixel, refusing a file the decoder had to patch up.

    Pillow hides libjpeg's warnings: a JPEG cut short with an end marker appended
    decodes without an error into a photo grey from the cut downwards. libjpeg-turbo,
    called by simplejpeg with ``strict=True``, reports that warning as an error."""
    if image.format == "JPEG":
        try:
            simplejpeg.decode_jpeg(data, colorspace="GRAY", strict=True)
        except ValueError as exc:
            raise PhotoError(f"照片文件已损坏或不完整，请重新上传（{_jpeg_problem(str(exc))}）") from None
    with _strict_pillow():
        image.load()


def _jpeg_problem(message: str) -> str:
    # libjpeg's messages, in the words a clerk can pass on.
    if "premature end" in message.lower():
        return "JPEG 数据提前结束"
    return "JPEG 数据有误"


def _ends_properly(data: bytes, fmt: str) -> bool:
    if fmt == "JPEG":
        # End-of-image marker, possibly followed by padding some encoders add.
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")
    # PNG: the IEND chunk (length 0, type, fixed CRC) closes every complete file.
    return data.endswith(b"\x00\x00\x00\x00IEND\xaeB`\x82")


def fit_photo(data: bytes, size_px: tuple[int, int] = PHOTO_PX, quality: int = 88) -> bytes:
    """The photo file ``data`` fitted to ``size_px`` (see :func:`_fit`); JPEG bytes."""
    with Image.open(io.BytesIO(data)) as image:
        return _fit(image, size_px, quality)


def _fit(image: Image.Image, size_px: tuple[int, int] = PHOTO_PX, quality: int = 88) -> bytes:
    """Orient by EXIF, convert to RGB, scale and crop to ``size_px``; JPEG bytes.

    The crop keeps the upper part of the picture, where the head is.
    Deterministic: the same input gives the same bytes.
    """
    image = _to_rgb(ImageOps.exif_transpose(image))
    fitted = ImageOps.fit(image, size_px, method=Image.Resampling.LANCZOS, centering=(0.5, 0.35))
    out = io.BytesIO()
    fitted.save(out, "JPEG", quality=quality, optimize=True, dpi=(PHOTO_DPI, PHOTO_DPI))
    return out.getvalue()


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    # CMYK, palette, grayscale, 16-bit: Pillow converts them faithfully.
    return image.convert("RGB")
