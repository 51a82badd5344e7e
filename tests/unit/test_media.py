"""Tests for storage.media: validation, metadata stripping and content-addressed storage."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from storage.media import MediaError, MediaStore, StoredMedia

CAMERA = b"SnoopCam"  # Make/Model marker that must not survive storage


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = CAMERA.decode()  # Make
    exif[0x0110] = CAMERA.decode() + " Pro"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (31.0, 14.0, 3.5), 3: "E", 4: (121.0, 28.0, 1.25)})
    return exif


def stored_files(store_root: Path) -> list[Path]:
    return [p for p in store_root.rglob("*") if p.is_file()]


def png_bomb(side: int) -> bytes:
    """A valid 1-bit PNG of `side`x`side` zeros: a few KB on disk, `side`² pixels decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_gps_exif_is_stripped(store: MediaStore) -> None:
    data = encode(Image.new("RGB", (64, 48), (200, 30, 30)), "JPEG", exif=gps_exif())
    assert CAMERA in data and b"Exif" in data  # the fixture really carries the metadata

    media = store.put_image(data)

    assert isinstance(media, StoredMedia)
    raw = media.path.read_bytes()
    assert raw == store.read(media.sha256) and media.size == len(raw)
    assert b"Exif" not in raw and CAMERA not in raw and b"GPS" not in raw
    with Image.open(media.path) as out:
        assert not out.getexif() and "exif" not in out.info
        assert (out.format, out.size) == ("JPEG", (64, 48))
    assert media.mime == "image/jpeg" and media.path.suffix == ".jpg"
    assert media.path == store.path_for(media.sha256)
    assert media.path.parts[-3:-1] == (media.sha256[:2], media.sha256[2:4])


def test_orientation_6_is_applied(store: MediaStore) -> None:
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (20, 0, 40, 20))  # left red, right blue
    media = store.put_image(encode(img, "JPEG", exif=gps_exif(orientation=6)))

    assert (media.width, media.height) == (20, 40)
    with Image.open(media.path) as out:
        top, bottom = out.convert("RGB").getpixel((10, 5)), out.convert("RGB").getpixel((10, 35))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60  # rotated 90° clockwise: left edge now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_png_with_alpha_stays_png_without_text_or_icc(store: MediaStore) -> None:
    img = Image.new("RGBA", (30, 30), (0, 128, 0, 255))
    img.putpixel((0, 0), (0, 0, 0, 0))
    info = PngInfo()
    info.add_text("Comment", "flat 12B, door code 4711")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    media = store.put_image(encode(img, "PNG", pnginfo=info, icc_profile=srgb))

    assert media.mime == "image/png" and media.path.suffix == ".png"
    raw = media.path.read_bytes()
    assert b"4711" not in raw and b"tEXt" not in raw and b"iCCP" not in raw
    with Image.open(media.path) as out:
        assert out.mode == "RGBA" and out.getpixel((0, 0)) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("RGB", "PNG"), ("RGBA", "WEBP"), ("P", "GIF"), ("RGB", "BMP"), ("CMYK", "JPEG"), ("L", "PNG")],
)
def test_accepted_formats_become_jpeg_when_opaque(store: MediaStore, mode: str, fmt: str) -> None:
    media = store.put_image(encode(Image.new("RGB", (20, 10), (10, 90, 200)).convert(mode), fmt))
    assert media.mime == "image/jpeg" and (media.width, media.height) == (20, 10)


def test_icc_profile_is_applied_and_dropped(store: MediaStore) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = Image.new("RGB", (16, 16), (10, 90, 200))
    media = store.put_image(encode(img, "JPEG", icc_profile=srgb, comment=b"secret note"))
    raw = media.path.read_bytes()
    assert b"secret note" not in raw and b"ICC_PROFILE" not in raw


def test_gif_first_frame_and_16_bit_grey(store: MediaStore) -> None:
    red, blue = Image.new("RGB", (8, 8), (255, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 255))
    gif = encode(red, "GIF", save_all=True, append_images=[blue])
    with Image.open(store.put_image(gif).path) as out:
        first = out.convert("RGB").getpixel((4, 4))
    assert isinstance(first, tuple) and first[0] > 200 and first[2] < 60

    grey16 = Image.new("I;16", (8, 8), 32768)  # mid grey; naive conversion clips it to white
    with Image.open(store.put_image(encode(grey16, "PNG")).path) as out:
        value = out.getpixel((4, 4))
    assert isinstance(value, int) and 120 <= value <= 136


def valid_jpeg() -> bytes:
    return encode(Image.effect_noise((200, 200), 64).convert("RGB"), "JPEG", quality=95)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"Kitchen tap is leaking again\n" * 20, "not_image"),
        (valid_jpeg()[:3000], "not_image"),  # truncated mid-scan
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n", "not_image"),
        (encode(Image.new("RGB", (8, 8)), "TIFF"), "not_image"),  # a real image, unaccepted format
        (b"\x00" * (10 * 1024 * 1024 + 1), "too_large"),
        (valid_jpeg() + b"\x00" * (20 * 1024 * 1024), "too_large"),  # a 20 MB "photo"
        (png_bomb(20_000), "too_large"),  # 400 MP: beyond Pillow's hard error limit
        (png_bomb(10_000), "too_large"),  # 100 MP: Pillow only warns; we must still refuse
    ],
    ids=["empty", "text", "truncated", "pdf", "tiff", "10mb+1", "20mb", "bomb-error", "bomb-warning"],
)
def test_rejected(store: MediaStore, data: bytes, reason: str) -> None:
    max_pixels = Image.MAX_IMAGE_PIXELS
    with pytest.raises(MediaError) as info:
        store.put_image(data)
    assert info.value.reason == reason
    assert max_pixels == Image.MAX_IMAGE_PIXELS  # the global limit is left alone
    assert not stored_files(store._root)


def test_bomb_fixture_is_tiny() -> None:
    assert len(png_bomb(20_000)) < 100_000


def test_zip_and_own_pixel_limit(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("photo.jpg", valid_jpeg())
    small = MediaStore(tmp_path, max_pixels=10_000)
    with pytest.raises(MediaError) as info:
        small.put_image(buf.getvalue())
    assert info.value.reason == "not_image"
    with pytest.raises(MediaError) as info:
        small.put_image(encode(Image.new("RGB", (101, 100)), "PNG"))
    assert info.value.reason == "too_large"


def test_same_image_twice_is_one_file(store: MediaStore) -> None:
    data = valid_jpeg()
    first, second = store.put_image(data), store.put_image(data)
    assert first == second
    assert stored_files(store._root) == [first.path]  # and no temp files left behind
    assert store.exists(first.sha256)


@pytest.mark.parametrize(
    "bad", ["../etc/passwd", "../" * 21 + "x", "g" * 64, "A" * 64, "ab", "a" * 64 + "\n"]
)
def test_path_for_rejects_malformed(store: MediaStore, bad: str) -> None:
    with pytest.raises(ValueError):
        store.path_for(bad)


def test_unknown_sha(store: MediaStore) -> None:
    assert not store.exists("0" * 64)
    with pytest.raises(FileNotFoundError):
        store.read("0" * 64)


def test_big_image_is_downscaled(store: MediaStore, tmp_path: Path) -> None:
    media = store.put_image(encode(Image.new("RGB", (6000, 3000), (1, 2, 3)), "PNG"))
    assert (media.width, media.height) == (4096, 2048)

    small = MediaStore(tmp_path / "small", max_side=100)  # JPEG path goes through draft() first
    media = small.put_image(encode(Image.new("RGB", (1000, 500), (9, 9, 9)), "JPEG"))
    with Image.open(media.path) as out:
        assert out.size == (media.width, media.height) == (100, 50)


def test_put_image_file(store: MediaStore, tmp_path: Path) -> None:
    src = tmp_path / "upload.jpg"
    src.write_bytes(valid_jpeg())
    assert store.put_image_file(src) == store.put_image(src.read_bytes())
    src.write_bytes(b"\xff" * (10 * 1024 * 1024 + 1))
    with pytest.raises(MediaError) as info:
        store.put_image_file(src)
    assert info.value.reason == "too_large"
