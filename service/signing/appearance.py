"""Visible seal appearance: the seal PNG as a pyHanko stamp style, built once per organisation.

pyHanko's ``PdfImage`` re-encodes and re-compresses the bitmap for every signature; a
473 px RGBA seal costs a few milliseconds each time.  :class:`PrecompressedImage` deflates
the colour and alpha planes once and only writes the finished streams into each document.
"""

from __future__ import annotations

import io
import zlib

from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import PdfContent, ResourceType
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.layout import AxisAlignment, BoxConstraints, InnerScaling, Margins, SimpleBoxLayoutRule
from pyhanko.stamp import StaticStampStyle

from .errors import SealingError

_XOBJECT_NAME = "/Seal"
_BLEND_NAME = "/SealInk"


class PrecompressedImage(PdfContent):
    """An RGBA image whose PDF streams are compressed once and written into each document."""

    def __init__(self, png: bytes):
        try:
            with Image.open(io.BytesIO(png)) as img:
                rgba = img.convert("RGBA")
        except (OSError, ValueError) as exc:
            raise SealingError(f"seal image is not a readable PNG: {exc}") from exc
        self.width, self.height = rgba.size
        self._rgb = zlib.compress(rgba.convert("RGB").tobytes(), 9)
        self._alpha = zlib.compress(rgba.getchannel("A").tobytes(), 9)
        super().__init__(box=BoxConstraints(self.width, self.height))

    def render(self) -> bytes:
        writer = self._ensure_writer
        smask = writer.add_object(self._stream(self._alpha, "/DeviceGray"))
        image = self._stream(self._rgb, "/DeviceRGB")
        image[pdf_name("/SMask")] = smask
        self.set_resource(ResourceType.XOBJECT, pdf_name(_XOBJECT_NAME), writer.add_object(image))
        # The red is multiplied into what lies under it, as ink on paper: the organisation's
        # name and the date under the seal stay black and legible (normal blending would
        # paint them over in red).
        multiply = generic.DictionaryObject(
            {pdf_name("/Type"): pdf_name("/ExtGState"), pdf_name("/BM"): pdf_name("/Multiply")}
        )
        self.set_resource(ResourceType.EXT_G_STATE, pdf_name(_BLEND_NAME), multiply)
        # images live in the unit square; scale to the box (pyHanko's layout fits the box)
        return b"q %s gs %d 0 0 %d 0 0 cm %s Do Q" % (
            _BLEND_NAME.encode(),
            self.width,
            self.height,
            _XOBJECT_NAME.encode(),
        )

    def _stream(self, data: bytes, colour_space: str) -> generic.StreamObject:
        return generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Image"),
                pdf_name("/Width"): generic.NumberObject(self.width),
                pdf_name("/Height"): generic.NumberObject(self.height),
                pdf_name("/ColorSpace"): pdf_name(colour_space),
                pdf_name("/BitsPerComponent"): generic.NumberObject(8),
                pdf_name("/Filter"): pdf_name("/FlateDecode"),
            },
            encoded_data=data,
        )


def build_seal_style(png: bytes) -> StaticStampStyle:
    """A stamp style showing only the seal image: no border, no text box, fully opaque.

    Build it once per organisation and pass it in every :class:`SealRequest`.  Not
    thread-safe (pyHanko sets the current writer on the image): one per worker thread.
    """
    return StaticStampStyle(
        background=PrecompressedImage(png),
        border_width=0,
        background_opacity=1.0,
        background_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MID,
            y_align=AxisAlignment.ALIGN_MID,
            margins=Margins.uniform(0),
            inner_content_scaling=InnerScaling.STRETCH_TO_FIT,
        ),
    )
