"""Pictures for tests: a small JPEG, with GPS EXIF when asked (the bot must strip it)."""

from __future__ import annotations

import io

from PIL import Image


def jpeg(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30), exif: bool = False
) -> bytes:
    """A small JPEG, optionally with GPS EXIF."""
    image = Image.new("RGB", (width, height), color)
    buffer = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"
        data[0x8825] = {1: "N", 2: (22.0, 32.0, 1.0), 3: "E", 4: (114.0, 3.0, 0.5)}
        image.save(buffer, "JPEG", exif=data)
    else:
        image.save(buffer, "JPEG")
    return buffer.getvalue()
