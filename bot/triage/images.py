import codecs
import io
import math
import struct

from PIL import Image, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from bot.errors import UserError

MB = 1024 * 1024
ACCEPTED = "paste a PNG, JPEG or WebP screenshot"
_DECODERS: dict[str, type[ImageFile.ImageFile]] = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.JpegImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
}
_OTHER_KINDS: tuple[tuple[bytes, str, bool], ...] = (
    (b"%PDF-", "a PDF", False),
    (b"GIF87a", "a GIF", True),
    (b"GIF89a", "a GIF", True),
    (b"BM", "a BMP image", True),
    (b"II*\x00", "a TIFF image", True),
    (b"MM\x00*", "a TIFF image", True),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)", False),
    (b"\x1f\x8b", "a gzip archive", False),
    (b"\x00\x00\x01\x00", "an icon file", True),
)


class ImageRejected(UserError):
    """The pasted file cannot be read as a screenshot; the message says what to do instead."""


def detect_kind(data: bytes) -> str:
    """Name the format from its magic bytes, because file names and Slack's mimetype can lie."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    name, is_image = _describe(data)
    if is_image:
        raise ImageRejected(f"this file is {name}, which /triage cannot read; {ACCEPTED}")
    raise ImageRejected(f"this file is {name}, not an image; {ACCEPTED}")


def _describe(data: bytes) -> tuple[str, bool]:
    if not data:
        return "empty", False
    for magic, name, is_image in _OTHER_KINDS:
        if data.startswith(magic):
            return name, is_image
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
            return "a HEIC photo", True
        if brand in (b"avif", b"avis"):
            return "an AVIF image", True
        return "a video", False
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        return "an SVG drawing", True
    sample = data[:4096]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "of an unknown type", False
    return ("of an unknown type", False) if b"\x00" in sample else ("text", False)


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageRejected(f"the image declares an empty size ({width} × {height}); {ACCEPTED}")
    if width * height > max_pixels:
        raise ImageRejected(
            f"the image is {width} × {height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {max_pixels / 1e6:g} megapixels: crop it to the conversation"
        )


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image.copy()
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB")


def load_image(data: bytes, *, max_bytes: int = 10 * MB, max_pixels: int = 40_000_000) -> Image.Image:
    """Decode an untrusted upload into RGB, refusing anything that is not a sane screenshot before decoding."""
    if len(data) > max_bytes:
        size_mb = math.ceil(len(data) * 10 / MB) / 10
        raise ImageRejected(f"the image is {size_mb:.1f} MB; the limit is {max_bytes / MB:g} MB")
    kind = detect_kind(data)
    if kind == "webp" and (declared := _webp_size(data)) is not None:
        _check_pixels(declared, max_pixels)
    damaged = f"the {kind.upper()} file is damaged or incomplete (the upload may have been cut off); {ACCEPTED}"
    # The format's own decoder class reads the header only and, unlike Image.open(), runs no pixel check
    # that would warn; ours runs before any pixel data is decoded, with a message the user can act on.
    try:
        image = _DECODERS[kind](io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"the image is too large to open safely; {ACCEPTED}") from exc
    except (SyntaxError, ValueError, OSError, EOFError, struct.error) as exc:
        raise ImageRejected(damaged) from exc
    try:
        _check_pixels(image.size, max_pixels)
        image.load()
        return _to_rgb(ImageOps.exif_transpose(image) if kind == "jpeg" else image)
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"the image is too large to open safely; {ACCEPTED}") from exc
    except (SyntaxError, ValueError, OSError, EOFError, struct.error) as exc:
        raise ImageRejected(damaged) from exc
    finally:
        image.close()
