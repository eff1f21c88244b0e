import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bot.errors import AfterlaunchError
from bot.triage import ocr_scripts
from bot.triage.ocr_scripts import Unread
from bot.triage.scripts import script_of

log = logging.getLogger(__name__)

# One onnxruntime thread: on a shared 2-core host it is as fast as two under load and leaves a core
# for Slack and ingest. Calls are serialised anyway. Figures in docs/triage-ocr.md.
OCR_THREADS = 1
# Detection at native resolution (downscaled only past 960 px): as accurate as RapidOCR's default
# (upscale until the short side is 736 px) on our benchmark, and about half the CPU.
DETECTION = {"Det.limit_type": "max", "Det.limit_side_len": 960}
# Recognition is three quarters of the time, and its cost grows with the width it is given. RapidOCR's
# default runs six lines at once, each padded to the widest of them and to at least 320 px, so "Copy"
# costs as much as a sentence. Two lines per run with no minimum width, and onnxruntime's memory arena
# kept (it reuses the large output tensor, 18,710 characters per step, instead of faulting in fresh
# pages on every run): about 30% less CPU per screenshot, the same text read (docs/triage-ocr.md).
RECOGNITION: dict[str, Any] = {
    "Rec.rec_batch_num": 2,
    "Rec.rec_img_shape": [3, 48, 48],
    "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
}
TEXT_SCORE = 0.5
"""RapidOCR's own cut-off: a line read with less confidence is in a script its recogniser lacks, or not text."""
CHAR_WIDTH = {"cjk": 0.62, "other": 0.30}
"""A character's width over its line box's height, at the narrowest we measured: full-width Chinese and
Japanese, and Latin text in a condensed font. A box holds at least ``width / (this * height)`` of them."""
SPARSE = 0.5
"""Read text shorter than this share of what its box holds is a line in another script."""
MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One detected line of text; ``box`` is (x0, y0, x1, y1) in the input image's pixels."""

    text: str
    box: tuple[int, int, int, int]
    score: float


class OcrUnavailable(AfterlaunchError):
    """The OCR engine or its bundled models are missing from this installation."""


_engine: Any = None
_load_lock = threading.Lock()
_run_lock = threading.Lock()


def bundled_models() -> dict[str, Path]:
    """Point RapidOCR at the models inside its wheel, so it never resolves (or downloads) anything else."""
    # Without this, importing onnxruntime writes a telemetry device id under $HOME/.cache.
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import rapidocr
    except ImportError as exc:
        raise OcrUnavailable("screenshot reading is not installed on this server (rapidocr missing)") from exc
    root = Path(rapidocr.__file__).parent / "models"
    paths = {stage: root / name for stage, name in MODEL_FILES.items()}
    missing = [str(path.name) for path in paths.values() if not path.is_file()]
    if missing:
        raise OcrUnavailable(f"screenshot reading is unavailable: bundled OCR models missing ({', '.join(missing)})")
    return paths


def load_engine(*, threads: int = OCR_THREADS, overrides: dict[str, Any] | None = None) -> Any:
    """Build a RapidOCR instance from bundled models only; callers normally use the shared one."""
    paths = bundled_models()
    from rapidocr import RapidOCR

    params: dict[str, Any] = {
        "Global.log_level": "warning",
        # Every detected line comes back; recognise() keeps the confident ones and reports the rest as unread.
        "Global.text_score": 0.0,
        "Global.use_cls": False,
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        **DETECTION,
        **RECOGNITION,
    }
    params.update({f"{stage}.model_path": str(path) for stage, path in paths.items()})
    params.update(overrides or {})
    started = time.perf_counter()
    engine = RapidOCR(params=params)
    engine(_warm_up_image())
    log.info("ocr engine loaded in %.2fs", time.perf_counter() - started)
    return engine


def _warm_up_image() -> np.ndarray:
    canvas = Image.new("RGB", (240, 64), (255, 255, 255))
    ImageDraw.Draw(canvas).text((12, 16), "warm up 42", fill=(0, 0, 0), font=ImageFont.load_default(size=24))
    return np.asarray(canvas)[:, :, ::-1].copy()


def _shared_engine() -> Any:
    global _engine
    if _engine is None:
        with _load_lock:
            if _engine is None:
                _engine = load_engine()
    return _engine


def reading_order(lines: list[OcrLine]) -> list[OcrLine]:
    """Sort lines top to bottom, then left to right within a visual row."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda item: (item.box[1] + item.box[3]) / 2):
        centre = (line.box[1] + line.box[3]) / 2
        if rows:
            row = rows[-1]
            top = min(item.box[1] for item in row)
            bottom = max(item.box[3] for item in row)
            if top <= centre <= bottom:
                row.append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item.box[0])]


def recognise(engine: Any, image: Image.Image) -> list[OcrLine]:
    """Run one engine over an image and convert its confident output to OcrLines clipped to the image."""
    lines, suspects = recognise_lines(engine, image)
    return lines + [line for line in suspects if line.score >= TEXT_SCORE and line.text]


def recognise_lines(engine: Any, image: Image.Image) -> tuple[list[OcrLine], list[OcrLine]]:
    """(lines read, suspects): a suspect was read with little confidence, or far too few characters for its box.

    The bundled recogniser meets Korean, Thai or Arabic with silence or a few stray letters: "." for
    a line 650 px wide, "n204au155GB aua524.85" for a Thai line of seventy characters. A line read as
    far fewer characters than its box holds, at the width of the script read, is a suspect.
    """
    result = engine(_bgr(image), use_det=True, use_cls=False, use_rec=True)
    if result.boxes is None or result.txts is None:
        return [], []
    width, height = image.size
    lines: list[OcrLine] = []
    suspects: list[OcrLine] = []
    for points, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        box = _clip(points, width, height)
        line = OcrLine(text=str(text).strip(), box=box, score=float(score))
        char_width = CHAR_WIDTH["cjk" if script_of(line.text) == "cjk" else "other"]
        holds = (box[2] - box[0]) / max(1.0, char_width * (box[3] - box[1]))
        wide = box[2] - box[0] >= ocr_scripts.MIN_UNREAD_WIDTH
        if wide and (line.score < TEXT_SCORE or len(line.text) < SPARSE * holds):
            suspects.append(line)
        elif line.text and line.score >= TEXT_SCORE:
            lines.append(line)
    return lines, suspects


def _bgr(image: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def _clip(points: Any, width: int, height: int) -> tuple[int, int, int, int]:
    xs = [float(point[0]) for point in points]
    ys = [float(point[1]) for point in points]
    return (max(0, round(min(xs))), max(0, round(min(ys))), min(width, round(max(xs))), min(height, round(max(ys))))


def detect_boxes(engine: Any, image: Image.Image) -> list[tuple[int, int, int, int]]:
    """Every text line's box, read or not: the recogniser drops lines it reads as nothing, boxes and all."""
    result = engine(_bgr(image), use_det=True, use_cls=False, use_rec=False)
    width, height = image.size
    return [_clip(points, width, height) for points in (result.boxes if result.boxes is not None else [])]


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether two boxes share at least half of the smaller one's height on overlapping columns."""
    dx = min(a[2], b[2]) - max(a[0], b[0])
    dy = min(a[3], b[3]) - max(a[1], b[1])
    return dx > 0 and dy > 0.5 * min(a[3] - a[1], b[3] - b[1])


@functools.cache
def other_scripts() -> frozenset[str]:
    """The scripts beyond RapidOCR's that this server reads (Tesseract's language data installed)."""
    return frozenset(ocr_scripts.available())


def warm_up() -> None:
    """Load the shared engine at start-up so the first /triage does not pay for it."""
    _shared_engine()


def read_text(image: Image.Image) -> list[OcrLine]:
    """Read every line of a screenshot offline, in reading order, for extract() to interpret.

    Lines in Korean, Thai or Arabic, which RapidOCR detects but cannot read, are read by Tesseract.
    """
    engine = _shared_engine()
    with _run_lock:
        lines, suspects = recognise_lines(engine, image)
        scripts = set(other_scripts())
        boxes = detect_boxes(engine, image) if suspects and scripts else []
    if suspects:
        unread = [Unread(box) for box in boxes if not any(_overlaps(box, line.box) for line in lines)]
        other = ocr_scripts.read_unread(image, unread or [Unread(line.box) for line in suspects], scripts)
        if other:
            lines += [OcrLine(text=text, box=box, score=score) for text, box, score in other]
        else:
            lines += [line for line in suspects if line.score >= TEXT_SCORE and line.text]
    return reading_order(lines)
