"""Content-addressed store for residents' and technicians' photos, re-encoded without metadata."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageCms, ImageOps

Reason = Literal["empty", "too_large", "not_image"]

_ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_EXTENSIONS = ("jpg", "png")
# Files the bot makes itself (charts, exports), stored as they are: no image checks, no re-encoding.
FILE_EXTENSIONS = ("png", "svg", "csv", "xlsx", "zip")
_MAX_FILE = 50 * 1024 * 1024
_JPEG_QUALITY = 85
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# warnings.catch_warnings() swaps process-global state and is not thread-safe before Python 3.14;
# callers run us in asyncio.to_thread workers, so serialise the cheap header-parsing open() step.
_OPEN_LOCK = threading.Lock()


class MediaError(Exception):
    """A file that cannot be stored; `reason` is one of "empty", "too_large", "not_image"."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """A stored, metadata-free image and where it lives."""

    sha256: str
    path: Path
    width: int
    height: int
    size: int
    mime: str


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A stored file the bot made, and where it lives."""

    sha256: str
    path: Path
    size: int


class MediaStore:
    """Validates, sanitises and stores images under `root/ab/cd/<sha256>.<ext>`."""

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int = 10 * 1024 * 1024,
        max_pixels: int = 40_000_000,
        max_side: int = 4096,
    ) -> None:
        """Configure the store; nothing touches the disk until the first write."""
        if min(max_bytes, max_pixels, max_side) <= 0:
            raise ValueError("limits must be positive")
        self._root = Path(root)
        self._max_bytes = max_bytes
        self._max_pixels = max_pixels
        self._max_side = max_side

    @property
    def max_bytes(self) -> int:
        """The largest upload accepted, in bytes."""
        return self._max_bytes

    def put_image(self, data: bytes) -> StoredMedia:
        """Validate, strip and re-encode `data`, store it, and describe the result (blocking)."""
        if not data:
            raise MediaError("empty")
        if len(data) > self._max_bytes:
            raise MediaError("too_large", f"{len(data)} bytes > {self._max_bytes}")
        img = self._normalise(*self._decode(data))
        buf = io.BytesIO()
        if img.mode == "RGBA":
            img.save(buf, "PNG")
            ext, mime = "png", "image/png"
        else:
            img.save(buf, "JPEG", quality=_JPEG_QUALITY, optimize=True, progressive=True)
            ext, mime = "jpg", "image/jpeg"
        payload = buf.getvalue()
        sha = hashlib.sha256(payload).hexdigest()
        path = self._write(sha, ext, payload)
        return StoredMedia(sha, path, img.width, img.height, len(payload), mime)

    def put_file(self, data: bytes, ext: str) -> StoredFile:
        """Store a file the bot made (a chart, an export) by content hash, byte for byte (blocking)."""
        if ext not in FILE_EXTENSIONS:
            raise ValueError(f"not a file type the bot makes: {ext!r}")
        if not data or len(data) > _MAX_FILE:
            raise MediaError("empty" if not data else "too_large")
        sha = hashlib.sha256(data).hexdigest()
        return StoredFile(sha, self._write(sha, ext, data), len(data))

    def put_image_file(self, path: Path) -> StoredMedia:
        """Store the image at `path`, refusing oversized files without reading them whole."""
        with Path(path).open("rb") as fh:
            if os.fstat(fh.fileno()).st_size > self._max_bytes:
                raise MediaError("too_large", f"{path} exceeds {self._max_bytes} bytes")
            data = fh.read(self._max_bytes + 1)  # bounded even if the file grows meanwhile
        return self.put_image(data)

    def path_for(self, sha256: str) -> Path:
        """Return the stored file for `sha256`; ValueError if malformed, FileNotFoundError if absent."""
        # Only 64 lowercase hex chars ever reach the filesystem, so no "..", "/" or NUL can.
        if not isinstance(sha256, str) or not _SHA_RE.fullmatch(sha256):
            raise ValueError(f"malformed sha256: {sha256!r}")
        for ext in dict.fromkeys((*_EXTENSIONS, *FILE_EXTENSIONS)):
            candidate = self._dir_for(sha256) / f"{sha256}.{ext}"
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"no stored media {sha256}")

    def read(self, sha256: str) -> bytes:
        """Return the stored bytes for `sha256`."""
        return self.path_for(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        """Tell whether `sha256` is stored; ValueError if it is malformed."""
        try:
            self.path_for(sha256)
        except FileNotFoundError:
            return False
        return True

    def delete(self, sha256: str) -> bool:
        """Remove the stored file for `sha256` (erasure, retention); False when there was none."""
        try:
            path = self.path_for(sha256)
        except (FileNotFoundError, ValueError):
            return False
        path.unlink(missing_ok=True)
        return True

    def _dir_for(self, sha256: str) -> Path:
        return self._root / sha256[:2] / sha256[2:4]

    def _decode(self, data: bytes) -> tuple[Image.Image, bytes | None]:
        """Fully decode `data` (first frame only) after checking its header dimensions."""
        try:
            with _OPEN_LOCK, warnings.catch_warnings():
                # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; it is still a bomb.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(data), formats=_ACCEPTED_FORMATS)
            # Our own limit, checked from the header before load() allocates the pixel buffer.
            if img.width * img.height > self._max_pixels:
                raise MediaError("too_large", f"{img.width}x{img.height} > {self._max_pixels} pixels")
            icc = img.info.get("icc_profile")
            img.draft(None, (self._max_side, self._max_side))  # JPEG: decode big photos at 1/2..1/8
            img.load()  # truncated or corrupt data fails here, not later while encoding
        except MediaError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaError("too_large", str(exc)) from exc
        except Exception as exc:
            # Pillow's plugins raise a zoo of types on hostile input (OSError, SyntaxError,
            # ValueError, EOFError, struct.error, IndexError...); all mean "not an image we take".
            raise MediaError("not_image", f"{type(exc).__name__}: {exc}") from exc
        return img, icc if isinstance(icc, bytes) else None

    def _normalise(self, img: Image.Image, icc: bytes | None) -> Image.Image:
        """Upright, sRGB, RGB/L (photo) or RGBA (real transparency), within max_side, no metadata."""
        # Bake the rotation into the pixels, since the EXIF carrying it is dropped; a broken
        # EXIF block should not cost the resident their photo, so keep it unrotated then.
        with contextlib.suppress(Exception):
            img = ImageOps.exif_transpose(img)
        if img.mode.startswith("I"):  # 16-bit greyscale PNG: scale to 8 bits instead of clipping
            img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
        if icc and img.mode in ("RGB", "RGBA", "CMYK", "L"):
            img = _to_srgb(img, icc)
        if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
            img = img.convert("RGBA")
            if img.getchannel("A").getextrema()[0] == 255:
                img = img.convert("RGB")  # alpha present but fully opaque: JPEG is far smaller
        elif img.mode in ("1", "L"):
            img = img.convert("L")
        else:
            img = img.convert("RGB")  # P, CMYK, YCbCr...; convert() always returns a new image
        img.thumbnail((self._max_side, self._max_side), Image.Resampling.LANCZOS)
        # Encoders fall back to im.info for ICC (PNG) and comments (JPEG); leave them nothing.
        img.info = {}
        return img

    def _write(self, sha: str, ext: str, payload: bytes) -> Path:
        """Atomically place `payload` at its content address unless it is already there."""
        path = self._dir_for(sha) / f"{sha}.{ext}"
        if path.is_file():  # same bytes, same name: nothing to do
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Temp file in the destination dir so os.replace is a same-filesystem atomic rename;
        # readers therefore never see a half-written image, and concurrent writers race harmlessly.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=f".{ext}")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _to_srgb(img: Image.Image, icc: bytes) -> Image.Image:
    """Convert through the embedded profile to sRGB so the profile itself need not be kept."""
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(img, src, _SRGB, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img  # malformed or mismatched profile: the raw pixel values are close enough
    return converted if converted is not None else img
