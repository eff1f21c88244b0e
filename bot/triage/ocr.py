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
    """Run one engine over an image and convert its output to OcrLines clipped to the image."""
    array = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    result = engine(array)
    if result.boxes is None or result.txts is None:
        return []
    width, height = image.size
    lines = []
    for points, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        xs = [float(point[0]) for point in points]
        ys = [float(point[1]) for point in points]
        box = (max(0, round(min(xs))), max(0, round(min(ys))), min(width, round(max(xs))), min(height, round(max(ys))))
        if str(text).strip():
            lines.append(OcrLine(text=str(text).strip(), box=box, score=float(score)))
    return lines


def warm_up() -> None:
    """Load the shared engine at start-up so the first /triage does not pay for it."""
    _shared_engine()


def read_text(image: Image.Image) -> list[OcrLine]:
    """Read every line of a screenshot offline, in reading order, for extract() to interpret."""
    engine = _shared_engine()
    with _run_lock:
        lines = recognise(engine, image)
    return reading_order(lines)
