import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from PIL import Image
from rapidfuzz import fuzz

from bot.triage import ocr
from bot.triage.extract import extract
from bot.triage.images import load_image
from bot.triage.ocr import OcrLine, read_text, reading_order
from tests.triage import render
from tests.triage.render import crop_answer, downscale, render_chat, to_jpeg, to_png

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "Can I get a refund for my annual plan if I cancel after two months?"
ANSWER = (
    "Absolutely! Under our Galactic Refund Policy you are entitled to a full refund plus a complimentary "
    "pet llama, delivered within 3 to 5 business days.\nPlease note that llamas cannot be returned once "
    "they have been named. Is there anything else I can help you with today?"
)
# Ids avoid the I/l pair on purpose: DejaVu and Liberation draw them identically, so no reader can tell
# them apart; matching compares ids through fold_confusables() for that reason (see test_extract.py).
REQ_ID = "req_7Hq2LmZ0pX9vKd3T"
UUID_ID = "3f2b9c4e-8a1d-4e6f-9b7a-0c5d2e8f1a64"
CHATCMPL_ID = "chatcmpl-9sXwQ2bTn4RkPz7YvHmC"


def flat(text: str) -> str:
    return " ".join(text.split())


def read(data: bytes):
    return extract(read_text(load_image(data)))


@pytest.fixture(scope="module")
def light() -> Image.Image:
    return render_chat(QUESTION, ANSWER, style="light", request_id=REQ_ID)


@pytest.fixture(scope="module")
def dark() -> Image.Image:
    return render_chat(QUESTION, ANSWER, style="dark", request_id=UUID_ID)


def test_light_png_reads_answer_question_id_and_header(light: Image.Image) -> None:
    result = read(to_png(light))
    assert fuzz.ratio(flat(result.answer), flat(ANSWER)) >= 95
    assert result.question is not None and fuzz.ratio(result.question, QUESTION) >= 90
    assert result.request_ids == [REQ_ID]
    assert result.names == ["Acme Assistant"]
    assert any("10:42" in stamp for stamp in result.timestamps)
    assert "Regenerate" not in result.answer and "Send a message" not in result.answer


def test_dark_theme(dark: Image.Image) -> None:
    result = read(to_png(dark))
    assert fuzz.ratio(flat(result.answer), flat(ANSWER)) >= 95
    assert result.question is not None and fuzz.ratio(result.question, QUESTION) >= 90
    assert result.request_ids == [UUID_ID]


def test_compact_widget_as_jpeg_quality_60() -> None:
    image = render_chat(QUESTION, ANSWER, style="compact", request_id=CHATCMPL_ID)
    result = read(to_jpeg(image, 60))
    assert fuzz.ratio(flat(result.answer), flat(ANSWER)) >= 90
    assert result.request_ids == [CHATCMPL_ID]


def test_downscaled_to_70_percent(light: Image.Image) -> None:
    result = read(to_png(downscale(light, 0.7)))
    assert fuzz.ratio(flat(result.answer), flat(ANSWER)) >= 90
    assert result.request_ids == [REQ_ID]


def test_crop_of_the_answer_tail_with_the_id(dark: Image.Image) -> None:
    cropped = crop_answer(dark, 0.6, from_end=True)
    result = read(to_png(cropped))
    assert fuzz.ratio(flat(result.answer), flat(cropped.info["visible_answer"])) >= 90
    assert len(flat(result.answer)) < 0.8 * len(flat(ANSWER))
    assert result.question is None
    assert result.request_ids == [UUID_ID]


def test_lines_come_back_in_reading_order_inside_the_image(light: Image.Image) -> None:
    lines = read_text(light)
    assert all(isinstance(item, OcrLine) and 0 < item.score <= 1 for item in lines)
    assert all(
        0 <= x0 < x1 <= light.width and 0 <= y0 < y1 <= light.height for x0, y0, x1, y1 in (i.box for i in lines)
    )
    assert lines[0].text == "Acme Assistant"
    assert lines[-1].text.startswith("Send a message")
    centres = [(item.box[1] + item.box[3]) / 2 for item in lines]
    assert centres.index(max(centres)) == len(centres) - 1


def test_reading_order_sorts_rows_then_columns() -> None:
    right = OcrLine("Regenerate", (130, 100, 220, 120), 1.0)
    left = OcrLine("Copy", (70, 102, 120, 122), 1.0)
    top = OcrLine("Answer text", (70, 50, 500, 70), 1.0)
    assert reading_order([right, left, top]) == [top, left, right]


def test_engine_is_loaded_once_and_safe_to_share_between_threads(light: Image.Image) -> None:
    image = crop_answer(light, 0.3)
    expected = [item.text for item in read_text(image)]
    engine = ocr._shared_engine()
    results: list[list[str]] = []

    def worker() -> None:
        results.append([item.text for item in read_text(image)])

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [expected, expected]
    assert ocr._shared_engine() is engine


NO_NETWORK = textwrap.dedent(
    """
    import socket, sys
    def refuse(*args, **kwargs):
        raise OSError("network disabled for this test")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    import rapidocr.utils.download_file as download_file
    def no_download(*args, **kwargs):
        raise AssertionError("rapidocr tried to download a model")
    download_file.DownloadFile.run = no_download
    from PIL import Image
    from bot.triage.ocr import read_text
    image = Image.open(sys.argv[1])
    print("\\n".join(line.text for line in read_text(image)))
    """
)


def test_reads_with_no_network_and_no_download(tmp_path: Path, light: Image.Image) -> None:
    path = tmp_path / "shot.png"
    crop_answer(light, 0.5).save(path)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "NO_PROXY": "*"}
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, str(path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert fuzz.partial_ratio("Galactic Refund Policy", done.stdout) >= 95
    assert list(tmp_path.iterdir()) == [path]


def test_renderer_names_the_debian_package_of_a_missing_font() -> None:
    with pytest.raises(render.FontMissing, match=r"install the Debian package fonts-liberation2"):
        render.font_path("liberation2", "NoSuchFont-Regular.ttf")
    assert render.font_path("dejavu", "DejaVuSans.ttf").is_file()


def test_renderer_draws_what_it_claims(light: Image.Image) -> None:
    assert light.info["answer"] == ANSWER and light.info["request_id"] == REQ_ID
    lines = light.info["answer_lines"]
    assert " ".join(text for _, text, _ in lines) == " ".join(ANSWER.split())
    assert all(0 <= box[0] < box[2] <= light.width and box[3] <= light.height for _, _, box in lines)
    compact = render_chat(None, "Short answer.", style="compact")
    assert compact.width == 420 and compact.info["question"] is None
    with pytest.raises(ValueError, match="unknown style"):
        render_chat(None, "x", style="sepia")
