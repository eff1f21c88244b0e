import io
import struct
import warnings
import zlib

import pytest
from PIL import Image

from bot.errors import UserError
from bot.triage.images import ImageRejected, detect_kind, load_image

MB = 1024 * 1024


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A valid, tiny PNG whose header claims any size: the classic decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def webp_declaring(width: int, height: int) -> bytes:
    extended = b"\0\0\0\0" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(extended)) + extended
    return b"RIFF" + struct.pack("<I", len(body)) + body


def jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("RGB", (16, 16), (200, 10, 10)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.fixture
def screenshot() -> Image.Image:
    image = Image.new("RGB", (320, 200), (255, 255, 255))
    image.paste((20, 120, 220), (0, 0, 160, 100))
    return image


@pytest.mark.parametrize(
    ("fmt", "options", "kind"),
    [("PNG", {}, "png"), ("JPEG", {"quality": 90}, "jpeg"), ("WEBP", {}, "webp"), ("WEBP", {"lossless": True}, "webp")],
)
def test_accepts_png_jpeg_and_webp_as_rgb(screenshot: Image.Image, fmt: str, options: dict, kind: str) -> None:
    data = encode(screenshot, fmt, **options)
    assert detect_kind(data) == kind
    image = load_image(data)
    assert image.mode == "RGB"
    assert image.size == (320, 200)
    red, green, blue = image.getpixel((40, 40))
    assert abs(red - 20) < 12 and abs(green - 120) < 12 and abs(blue - 220) < 12
    assert image.getpixel((300, 180)) == pytest.approx((255, 255, 255), abs=6)


def test_loaded_image_stays_usable_after_the_source_is_closed(screenshot: Image.Image) -> None:
    image = load_image(encode(screenshot, "PNG"))
    assert image.crop((0, 0, 10, 10)).getpixel((5, 5)) == (20, 120, 220)


def test_transparent_pixels_become_white_not_black() -> None:
    image = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    image.putpixel((1, 1), (0, 0, 255, 255))
    loaded = load_image(encode(image, "PNG"))
    assert loaded.getpixel((0, 0)) == (255, 255, 255)
    assert loaded.getpixel((1, 1)) == (0, 0, 255)


@pytest.mark.parametrize("mode", ["L", "P", "LA", "I;16"])
def test_other_png_modes_convert_to_rgb(mode: str) -> None:
    grey = Image.new("RGB", (12, 6), (90, 90, 90))
    if mode == "I;16":
        source = Image.new("I;16", (12, 6), 90 * 257)
    elif mode == "P":
        source = grey.convert("P", palette=Image.Palette.ADAPTIVE)
    else:
        source = grey.convert(mode)
    loaded = load_image(encode(source, "PNG"))
    assert loaded.mode == "RGB"
    assert loaded.getpixel((3, 3)) == pytest.approx((90, 90, 90), abs=2)


def test_type_comes_from_bytes_not_the_name(screenshot: Image.Image) -> None:
    jpeg = encode(screenshot, "JPEG")
    assert detect_kind(jpeg) == "jpeg"
    assert load_image(jpeg).size == (320, 200)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "this file is a PDF, not an image"),
        (b"Request ID: req_7Hq2LmZ0pX9vKd3T\nthe bot said something odd", "this file is text, not an image"),
        (b"", "this file is empty, not an image"),
        (b"PK\x03\x04\x14\x00\x00\x00", "this file is a ZIP archive (or an Office document), not an image"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "this file is a HEIC photo, which /triage cannot read"),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "this file is an SVG drawing"),
        (bytes(range(256)) * 4, "this file is of an unknown type, not an image"),
    ],
)
def test_non_images_are_refused_with_an_actionable_message(data: bytes, expected: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        load_image(data)
    assert caught.value.message.startswith(expected)
    assert caught.value.message.endswith("paste a PNG, JPEG or WebP screenshot")


def test_gif_is_named_as_an_image_we_do_not_read(screenshot: Image.Image) -> None:
    with pytest.raises(ImageRejected, match=r"^this file is a GIF, which /triage cannot read; paste a PNG"):
        load_image(encode(screenshot, "GIF"))


def test_rejection_is_a_user_error_for_the_shared_error_handler() -> None:
    assert issubclass(ImageRejected, UserError)
    assert ImageRejected("x").message == "x"


def test_oversize_input_is_refused_before_decoding() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\0" * (int(12.3 * MB) - 8)
    with pytest.raises(ImageRejected) as caught:
        load_image(data)
    assert caught.value.message == "the image is 12.3 MB; the limit is 10 MB"


def test_just_over_the_limit_never_reads_as_equal_to_it() -> None:
    with pytest.raises(ImageRejected, match=r"^the image is 10.1 MB; the limit is 10 MB$"):
        load_image(b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * MB + 1000))


def test_size_limit_is_inclusive_and_configurable(screenshot: Image.Image) -> None:
    data = encode(screenshot, "PNG")
    assert load_image(data, max_bytes=len(data)).size == (320, 200)
    with pytest.raises(ImageRejected, match="the limit is"):
        load_image(data, max_bytes=len(data) - 1)


def test_pixel_limit_is_inclusive(screenshot: Image.Image) -> None:
    data = encode(screenshot, "PNG")
    assert load_image(data, max_pixels=320 * 200).size == (320, 200)
    with pytest.raises(ImageRejected, match=r"320 × 200 pixels"):
        load_image(data, max_pixels=320 * 200 - 1)


@pytest.mark.parametrize(
    "bomb",
    [
        png_declaring(8000, 6000),
        png_declaring(100_000, 100_000),
        webp_declaring(16_000, 16_000),
        jpeg_declaring(60_000, 60_000),
    ],
    ids=["png-48MP", "png-10GP", "webp-256MP", "jpeg-3.6GP"],
)
def test_decompression_bombs_are_refused_with_our_error_and_no_warning(bomb: bytes) -> None:
    assert len(bomb) < 1024
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageRejected) as caught:
            load_image(bomb)
    assert "megapixels); the limit is 40 megapixels" in caught.value.message


def test_bomb_message_gives_the_declared_size() -> None:
    with pytest.raises(ImageRejected) as caught:
        load_image(png_declaring(100_000, 100_000))
    assert caught.value.message.startswith("the image is 100000 × 100000 pixels (10000.0 megapixels)")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_files_are_refused_as_damaged(screenshot: Image.Image, fmt: str) -> None:
    data = encode(screenshot, fmt)
    with pytest.raises(ImageRejected, match=r"file is damaged or incomplete"):
        load_image(data[: len(data) // 2])


def test_corrupt_header_is_refused_as_damaged() -> None:
    with pytest.raises(ImageRejected, match=r"^the PNG file is damaged or incomplete"):
        load_image(b"\x89PNG\r\n\x1a\n" + b"\xff" * 40)
