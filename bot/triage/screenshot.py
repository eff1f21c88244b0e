"""Chat-UI screenshots drawn from known text: the demo and bench/triage.py triage images of their own answers."""

import io
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from bot.triage.scripts import SCRIPT_FONTS, script_of

RGB = tuple[int, int, int]
FONT_ROOT = Path("/usr/share/fonts/truetype")
FONT_PACKAGES = {
    "dejavu": "fonts-dejavu-core",
    "liberation2": "fonts-liberation2",
    "wqy": "fonts-wqy-microhei",
    "tlwg": "fonts-tlwg-loma-ttf",
}


class FontMissing(RuntimeError):
    """A TrueType font the renderer was told to insist on is not installed."""


TEXT_KEYS = ("answer", "question", "request_id", "title", "style", "visible_answer")


@dataclass(frozen=True)
class Style:
    font_dir: str
    regular: str
    bold: str
    size: int
    max_width: int | None
    page: RGB
    header_bg: RGB
    header_fg: RGB
    text: RGB
    muted: RGB
    user_bg: RGB
    user_fg: RGB
    bot_bg: RGB | None
    border: RGB
    input_bg: RGB
    accent: RGB
    avatar: bool
    strict_fonts: bool = False
    """Tests insist on the real fonts: OCR results on a fallback font would prove nothing."""


STYLES: dict[str, Style] = {
    "light": Style(
        font_dir="dejavu",
        regular="DejaVuSans.ttf",
        bold="DejaVuSans-Bold.ttf",
        size=16,
        max_width=None,
        page=(255, 255, 255),
        header_bg=(247, 247, 248),
        header_fg=(32, 33, 35),
        text=(31, 31, 31),
        muted=(120, 120, 128),
        user_bg=(236, 236, 236),
        user_fg=(31, 31, 31),
        bot_bg=None,
        border=(217, 217, 222),
        input_bg=(255, 255, 255),
        accent=(16, 163, 127),
        avatar=True,
    ),
    "dark": Style(
        font_dir="dejavu",
        regular="DejaVuSans.ttf",
        bold="DejaVuSans-Bold.ttf",
        size=16,
        max_width=None,
        page=(33, 33, 33),
        header_bg=(23, 23, 23),
        header_fg=(236, 236, 236),
        text=(236, 236, 236),
        muted=(155, 155, 155),
        user_bg=(52, 52, 56),
        user_fg=(236, 236, 236),
        bot_bg=None,
        border=(70, 70, 74),
        input_bg=(47, 47, 47),
        accent=(171, 104, 255),
        avatar=False,
    ),
    "compact": Style(
        font_dir="liberation2",
        regular="LiberationSans-Regular.ttf",
        bold="LiberationSans-Bold.ttf",
        size=13,
        max_width=420,
        page=(255, 255, 255),
        header_bg=(37, 99, 235),
        header_fg=(255, 255, 255),
        text=(33, 37, 41),
        muted=(134, 142, 150),
        user_bg=(37, 99, 235),
        user_fg=(255, 255, 255),
        bot_bg=(241, 243, 245),
        border=(222, 226, 230),
        input_bg=(248, 249, 250),
        accent=(37, 99, 235),
        avatar=False,
    ),
}


def _font(style: Style, *, bold: bool = False, scale: float = 1.0) -> ImageFont.FreeTypeFont:
    """The style's Debian font (fonts-dejavu-core, fonts-liberation2), else Pillow's bundled one."""
    name = style.bold if bold else style.regular
    size = max(8, round(style.size * scale))
    path = FONT_ROOT / style.font_dir / name
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    if style.strict_fonts:
        font_path(style.font_dir, name)  # raises FontMissing, naming the package
    return ImageFont.load_default(size=size)  # type: ignore[return-value]


def font_path(font_dir: str, name: str) -> Path:
    """Find a Debian-packaged font by path, saying which package to install when it is missing."""
    path = FONT_ROOT / font_dir / name
    if not path.is_file():
        package = FONT_PACKAGES.get(font_dir, font_dir)
        raise FontMissing(f"font {path} is missing; install the Debian package {package}")
    return path


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        if not words:
            continue
        lines: list[str] = []
        current = ""
        for word in _breakable(words, font, width):
            candidate = f"{current} {word}" if current else word
            if current and font.getlength(candidate) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
        paragraphs.append(lines)
    return paragraphs


def _breakable(words: list[str], font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Words wider than a line (a sentence of Chinese, Japanese or Thai has no spaces) cut to fit, as chat UIs do."""
    out: list[str] = []
    for word in words:
        while font.getlength(word) > width and len(word) > 1:
            cut = 1
            while cut < len(word) and font.getlength(word[: cut + 1]) <= width:
                cut += 1
            out.append(word[:cut])
            word = word[cut:]
        out.append(word)
    return out


class _Canvas:
    def __init__(self, style: Style, width: int) -> None:
        self.style = style
        self.width = width
        self.image = Image.new("RGB", (width, 4000), style.page)
        self.draw = ImageDraw.Draw(self.image)
        self.y = 0
        self.answer_lines: list[tuple[int, str, tuple[int, int, int, int]]] = []
        self.line_h = round(style.size * 1.5)

    def text_block(
        self, paragraphs: list[list[str]], x: int, font: ImageFont.FreeTypeFont, fill: RGB, *, record: bool
    ) -> None:
        for index, lines in enumerate(paragraphs):
            if index:
                self.y += round(self.line_h * 0.6)
            for line in lines:
                self.draw.text((x, self.y), line, font=font, fill=fill)
                if record:
                    x0, _, x1, _ = self.draw.textbbox((x, self.y), line, font=font)
                    self.answer_lines.append((index, line, (x0, self.y, x1, self.y + self.line_h)))
                self.y += self.line_h

    def button(self, x: int, label: str, font: ImageFont.FreeTypeFont) -> int:
        s = self.style
        pad = round(s.size * 0.5)
        w = round(font.getlength(label)) + 2 * pad
        h = round(s.size * 1.7)
        self.draw.rounded_rectangle((x, self.y, x + w, self.y + h), radius=pad, outline=s.border, width=1)
        self.draw.text((x + pad, self.y + h / 2), label, font=font, fill=s.muted, anchor="lm")
        return x + w + pad


def _header(c: _Canvas, title: str) -> None:
    s = c.style
    h = round(s.size * 3.2)
    c.draw.rectangle((0, 0, c.width, h), fill=s.header_bg)
    c.draw.line((0, h, c.width, h), fill=s.border, width=1)
    c.draw.text((round(s.size * 1.2), h / 2), title, font=_font(s, bold=True, scale=1.1), fill=s.header_fg, anchor="lm")
    right = c.width - round(s.size * 1.2)
    if s.max_width is None:
        c.draw.text((right, h / 2), "New chat", font=_font(s, scale=0.9), fill=s.muted, anchor="rm")
    else:
        c.draw.text((right, h / 2), "×", font=_font(s, scale=1.3), fill=s.header_fg, anchor="rm")
    c.y = h + round(s.size * 1.5)


def _user_bubble(c: _Canvas, question: str, margin: int, timestamp: str | None) -> None:
    s = c.style
    font = _font(s)
    pad = round(s.size * 0.8)
    max_text = round((c.width - 2 * margin) * 0.7) - 2 * pad
    paragraphs = _wrap(question, font, max_text)
    text_w = max(round(font.getlength(line)) for lines in paragraphs for line in lines)
    n_lines = sum(len(lines) for lines in paragraphs)
    bubble_h = n_lines * c.line_h + round(c.line_h * 0.6) * (len(paragraphs) - 1) + 2 * pad
    x1 = c.width - margin
    x0 = x1 - text_w - 2 * pad
    c.draw.rounded_rectangle((x0, c.y, x1, c.y + bubble_h), radius=round(s.size * 1.1), fill=s.user_bg)
    top = c.y
    c.y += pad + round((c.line_h - s.size) / 4)
    c.text_block(paragraphs, x0 + pad, font, s.user_fg, record=False)
    c.y = top + bubble_h + round(s.size * 0.4)
    if timestamp and s.max_width is not None:
        c.draw.text((x1, c.y), timestamp, font=_font(s, scale=0.8), fill=s.muted, anchor="ra")
        c.y += c.line_h
    c.y += round(s.size * 1.2)


def _sender_row(c: _Canvas, x: int, title: str, timestamp: str | None) -> int:
    s = c.style
    d = round(s.size * 1.8)
    c.draw.ellipse((x, c.y, x + d, c.y + d), fill=s.accent)
    c.draw.text(
        (x + d / 2, c.y + d / 2), title[:1].upper(), font=_font(s, bold=True), fill=(255, 255, 255), anchor="mm"
    )
    text_x = x + d + round(s.size * 0.8)
    bold = _font(s, bold=True)
    c.draw.text((text_x, c.y + d / 2), title, font=bold, fill=s.text, anchor="lm")
    if timestamp:
        ts_x = text_x + round(bold.getlength(title)) + round(s.size * 0.8)
        c.draw.text((ts_x, c.y + d / 2), timestamp, font=_font(s, scale=0.85), fill=s.muted, anchor="lm")
    c.y += d + round(s.size * 0.6)
    return text_x


def _answer(c: _Canvas, answer: str, margin: int, title: str, timestamp: str | None, request_id: str | None) -> None:
    s = c.style
    font = _font(s)
    small = _font(s, scale=0.8)
    text_x = _sender_row(c, margin, title, timestamp) if s.avatar else margin
    if s.bot_bg is not None:
        pad = round(s.size * 0.8)
        max_text = round((c.width - 2 * margin) * 0.8) - 2 * pad
        paragraphs = _wrap(answer, font, max_text)
        text_w = max(round(font.getlength(line)) for lines in paragraphs for line in lines)
        n_lines = sum(len(lines) for lines in paragraphs)
        bubble_h = n_lines * c.line_h + round(c.line_h * 0.6) * (len(paragraphs) - 1) + 2 * pad
        c.draw.rounded_rectangle(
            (margin, c.y, margin + text_w + 2 * pad, c.y + bubble_h), radius=round(s.size * 1.1), fill=s.bot_bg
        )
        top = c.y
        c.y += pad
        c.text_block(paragraphs, margin + pad, font, s.text, record=True)
        c.y = top + bubble_h + round(s.size * 0.4)
        text_x = margin + pad
    else:
        paragraphs = _wrap(answer, font, c.width - text_x - margin)
        c.text_block(paragraphs, text_x, font, s.text, record=True)
        c.y += round(s.size * 0.4)
    if request_id:
        c.draw.text((text_x, c.y), f"Request ID: {request_id}", font=small, fill=s.muted)
        c.y += c.line_h
    c.y += round(s.size * 0.3)
    x = text_x
    if not s.avatar and timestamp:
        c.draw.text((x, c.y + round(s.size * 0.85)), timestamp, font=small, fill=s.muted, anchor="lm")
        x += round(small.getlength(timestamp)) + s.size
    if s.max_width is None:
        x = c.button(x, "Copy", small)
        c.button(x, "Regenerate", small)
    else:
        c.draw.text((x, c.y + round(s.size * 0.85)), "Copy · Regenerate", font=small, fill=s.muted, anchor="lm")
    c.y += round(s.size * 1.7) + round(s.size * 2)


def _input_box(c: _Canvas, margin: int) -> None:
    s = c.style
    h = round(s.size * 3)
    box = (margin, c.y, c.width - margin, c.y + h)
    c.draw.rounded_rectangle(box, radius=round(h / 2.5), fill=s.input_bg, outline=s.border, width=1)
    c.draw.text((margin + s.size, c.y + h / 2), "Send a message...", font=_font(s), fill=s.muted, anchor="lm")
    cx, cy, r = c.width - margin - h / 2, c.y + h / 2, s.size * 0.55
    c.draw.polygon([(cx - r, cy - r), (cx + r, cy), (cx - r, cy + r)], fill=s.accent)
    c.y += h + s.size


def render_chat(
    question: str | None,
    answer: str,
    *,
    style: str,
    width: int = 900,
    request_id: str | None = None,
    title: str = "Acme Assistant",
    timestamp: str | None = "10:42 AM",
    strict_fonts: bool = False,
) -> Image.Image:
    """Draw a chat screenshot with known text, so OCR tests compare against ground truth, not fixtures."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    s = replace(STYLES[style], strict_fonts=strict_fonts)
    script = script_of(f"{question or ''} {answer}")
    if script in SCRIPT_FONTS:
        font_dir, regular, bold = SCRIPT_FONTS[script]
        s = replace(s, font_dir=font_dir, regular=regular, bold=bold)
    canvas_w = min(width, s.max_width) if s.max_width else width
    c = _Canvas(s, canvas_w)
    margin = round(s.size * (1.2 if s.max_width else 2.0))
    _header(c, title)
    if question:
        _user_bubble(c, question, margin, timestamp)
    _answer(c, answer, margin, title, timestamp, request_id)
    _input_box(c, margin)
    image = c.image.crop((0, 0, canvas_w, c.y))
    image.info.update(
        {
            "style": style,
            "title": title,
            "question": question,
            "answer": answer,
            "request_id": request_id,
            "answer_lines": c.answer_lines,
            "line_h": c.line_h,
        }
    )
    return image


def _carry(source: Image.Image, target: Image.Image, **extra: Any) -> Image.Image:
    target.info.update({key: source.info.get(key) for key in TEXT_KEYS})
    target.info.update(extra)
    return target


def _joined(lines: list[tuple[int, str, tuple[int, int, int, int]]]) -> str:
    paragraphs: dict[int, list[str]] = {}
    for index, text, _ in lines:
        paragraphs.setdefault(index, []).append(text)
    return "\n".join(" ".join(words) for words in paragraphs.values())


def crop_answer(img: Image.Image, fraction: float, *, from_end: bool = False) -> Image.Image:
    """Cut a rendered chat down to part of the answer, like a user who crops before pasting."""
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    lines = img.info["answer_lines"]
    line_h = img.info["line_h"]
    keep = max(1, math.ceil(len(lines) * fraction))
    kept = lines[-keep:] if from_end else lines[:keep]
    x0 = max(0, min(box[0] for _, _, box in kept) - line_h)
    top = max(0, kept[0][2][1] - line_h // 3)
    last_bottom = kept[-1][2][3]
    bottom = min(img.height, last_bottom + 4 * line_h) if from_end else last_bottom - line_h // 6
    x1 = img.width - line_h // 2
    return _carry(img, img.crop((x0, top, x1, bottom)), visible_answer=_joined(kept))


def downscale(img: Image.Image, factor: float) -> Image.Image:
    """Shrink a screenshot the way a chat client or phone does before it reaches us."""
    size = (max(1, round(img.width * factor)), max(1, round(img.height * factor)))
    return _carry(img, img.resize(size, Image.Resampling.BILINEAR))


def to_jpeg(img: Image.Image, quality: int) -> bytes:
    """Encode as JPEG to reproduce compression artefacts from pasted screenshots."""
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def to_png(img: Image.Image) -> bytes:
    """Encode as PNG, the lossless format most screenshots arrive in."""
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()
