"""The product's chat-screenshot renderer, held to the real Debian fonts: an OCR test that
passed on a fallback font would prove nothing about real screenshots."""

from __future__ import annotations

from typing import Any

from PIL import Image

from bot.triage.screenshot import FontMissing, crop_answer, downscale, font_path, to_jpeg, to_png
from bot.triage.screenshot import render_chat as _render_chat

__all__ = ["FontMissing", "crop_answer", "downscale", "font_path", "render_chat", "to_jpeg", "to_png"]


def render_chat(question: str | None, answer: str, **kwargs: Any) -> Image.Image:
    return _render_chat(question, answer, strict_fonts=True, **kwargs)
