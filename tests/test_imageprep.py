"""Tests for mnistctl.data.images: users' own pictures of digits -> MNIST-style 28x28 inputs.

Every picture is made here with Pillow in tmp_path, except the round trip of real MNIST digits,
which reads the bundled sample (mnistctl/data/mnist_sample.npz).
"""

from __future__ import annotations

import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile, ImageFilter

from mnistctl.data import digitcrop
from mnistctl.data.digitprep import prepare_digit
from mnistctl.data.imageread import MAX_PIXELS
from mnistctl.data.images import load_digit
from mnistctl.errors import UserError

MNIST_NPZ = Path(__file__).resolve().parents[1] / "mnistctl" / "data" / "mnist_sample.npz"

# A "7" with a crossbar-free shape and a "2", as polylines in the unit square (x, y).
SEVEN = [(0.15, 0.1), (0.85, 0.1), (0.45, 0.95)]
TWO = [(0.2, 0.3), (0.35, 0.12), (0.65, 0.12), (0.78, 0.3), (0.2, 0.9), (0.82, 0.9)]


# ---------------------------------------------------------------------------------------------
# Helpers


def draw_digit(
    size: tuple[int, int],
    box: tuple[int, int, int, int],
    shape: list[tuple[float, float]] = TWO,
    width: int = 14,
    ink: int = 0,
    paper: int = 255,
) -> Image.Image:
    """An "L" image with ``shape`` drawn as a polyline of ``width`` inside ``box``."""
    img = Image.new("L", size, paper)
    x0, y0, x1, y1 = box
    points = [(x0 + u * (x1 - x0), y0 + v * (y1 - y0)) for u, v in shape]
    ImageDraw.Draw(img).line(points, fill=ink, width=width, joint="curve")
    return img


def photo_like(
    size: tuple[int, int] = (480, 640),
    box: tuple[int, int, int, int] = (120, 160, 360, 480),
    width: int = 22,
    seed: int = 0,
) -> Image.Image:
    """Grey paper lit unevenly (gradient), with noise, and a thick dark "2"."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    paper = 120 + 70 * xx / w + 40 * yy / h  # 120 .. 230: darker top left, brighter bottom right
    rng = np.random.default_rng(seed)
    digit = np.asarray(draw_digit(size, box, width=width), dtype=np.float64) / 255  # 0 = ink
    pixels = paper * (0.25 + 0.75 * digit) + rng.normal(0, 6, (h, w))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")


def ink_box(out: np.ndarray, level: float = 0.0) -> tuple[int, int]:
    """(height, width) of the bounding box of pixels above ``level``."""
    rows = np.flatnonzero((out > level).any(axis=1))
    cols = np.flatnonzero((out > level).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_of_mass(out: np.ndarray) -> tuple[float, float]:
    yy, xx = np.indices(out.shape)
    total = float(out.sum())
    return float((yy * out).sum()) / total, float((xx * out).sum()) / total


def assert_mnist_like(out: np.ndarray) -> None:
    assert out.shape == (28, 28)
    assert out.dtype == np.float32
    assert float(out.min()) >= 0.0
    assert float(out.max()) == pytest.approx(1.0)
    height, width = ink_box(out)
    assert max(height, width) <= 20
    assert max(height, width) >= 19
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1.0
    assert abs(cx - 14) <= 1.0
    # The border (outside the 20x20 box's possible positions' common part) is background.
    assert float(out[0].max()) == 0.0
    assert float(out[-1].max()) == 0.0
    assert float(out[:, 0].max()) == 0.0
    assert float(out[:, -1].max()) == 0.0


def save(img: Image.Image, path: Path, **params: object) -> Path:
    img.save(path, **params)
    return path


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """A clean black-on-white "2", prepared: what the variants below should come close to."""
    return prepare_digit(draw_digit((200, 200), (30, 20, 170, 180)))


# ---------------------------------------------------------------------------------------------
# MNIST-like input comes out unchanged


@pytest.mark.parametrize("invert", [False, True], ids=["white-on-black", "black-on-white"])
def test_real_mnist_digits_round_trip(tmp_path: Path, invert: bool) -> None:
    with np.load(MNIST_NPZ) as data:
        digits = data["x_train"][:21]
    # x_train[3] is the one digit in 5,000 whose box is 19 px, not 20 (its bottom is cut off by
    # the frame), so it is scaled up; every other MNIST digit's box is exactly 20 px.
    digits = np.delete(digits, 3, axis=0)
    diffs = []
    for i, digit in enumerate(digits):
        pixels = 255 - digit if invert else digit
        path = save(Image.fromarray(pixels, mode="L"), tmp_path / f"{i}.png")
        out = load_digit(path)
        assert out.shape == (28, 28)
        assert out.dtype == np.float32
        diff = float(np.abs(out - digit / 255.0).mean())
        assert diff < 0.05, (i, diff)
        diffs.append(diff)
    assert float(np.mean(diffs)) < 0.01


def test_prepared_digit_is_a_fixed_point(reference: np.ndarray) -> None:
    """An MNIST-like image (here: our own output) goes through unchanged, also inverted."""
    pixels = np.round(reference * 255).astype(np.uint8)
    again = prepare_digit(Image.fromarray(pixels, mode="L"))
    assert float(np.abs(again - pixels / 255.0).max()) < 0.02
    inverted = prepare_digit(Image.fromarray(255 - pixels, mode="L"))
    assert float(np.abs(inverted - pixels / 255.0).max()) < 0.02


# ---------------------------------------------------------------------------------------------
# Photos and scans


def test_photo_like_dark_ink_on_uneven_grey_paper(tmp_path: Path, reference: np.ndarray) -> None:
    path = save(photo_like(), tmp_path / "photo.png")
    out = load_digit(path)
    assert_mnist_like(out)
    # Background is 0 (paper grey removed), ink is bright and a real stroke, not hair lines.
    assert float(np.mean(out == 0.0)) > 0.6
    assert float(np.mean(out > 0.5)) > 0.08
    # It is the same "2" as the clean drawing.
    assert float(np.abs(out - reference).mean()) < 0.06


def test_photo_like_as_jpeg(tmp_path: Path, reference: np.ndarray) -> None:
    rgb = Image.merge("RGB", [photo_like(seed=1)] * 3)
    path = save(rgb, tmp_path / "photo.jpg", quality=80)
    out = load_digit(path)
    assert_mnist_like(out)
    assert float(np.abs(out - reference).mean()) < 0.06


def _lit(paper: np.ndarray, digit: np.ndarray, dark_ink: bool, seed: int) -> Image.Image:
    """Paper brightness ``paper`` (0..255) lighting a digit (``digit``: 1 = paper, 0 = ink)."""
    rng = np.random.default_rng(seed)
    ink_on_paper = paper * (0.3 + 0.7 * digit)  # ink reflects 30% of the light the paper does
    chalk_on_board = (255 - paper) * 0.4 + 150 * (1 - digit)
    pixels = (ink_on_paper if dark_ink else chalk_on_board) + rng.normal(0, 5, paper.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")


@pytest.mark.parametrize("dark_ink", [True, False], ids=["dark-ink", "light-ink"])
@pytest.mark.parametrize("light", ["vignette", "gradient", "soft-shadow"])
def test_uneven_lighting(reference: np.ndarray, light: str, dark_ink: bool) -> None:
    w, h = 400, 300
    yy, xx = np.mgrid[0:h, 0:w]
    if light == "vignette":
        paper = 220 - 200 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)
    elif light == "gradient":
        paper = 90 + 130 * xx / w
    else:
        edge = Image.fromarray(np.where(xx < 120, 130, 220).astype(np.uint8))
        paper = np.asarray(edge.filter(ImageFilter.GaussianBlur(25)), dtype=np.float64)
    digit = np.asarray(draw_digit((w, h), (130, 60, 270, 220)), dtype=np.float64) / 255
    out = prepare_digit(_lit(paper, digit, dark_ink, seed=7))
    assert_mnist_like(out)
    assert float(np.abs(out - reference).mean()) < 0.03


def test_colour_ink_on_tinted_paper(reference: np.ndarray) -> None:
    digit = np.asarray(draw_digit((200, 200), (30, 20, 170, 180)), dtype=np.float64)[..., None]
    paper, ink = np.array([240.0, 228.0, 180.0]), np.array([30.0, 40.0, 150.0])  # blue on cream
    rgb = ink + (paper - ink) * digit / 255
    out = prepare_digit(Image.fromarray(rgb.astype(np.uint8), mode="RGB"))
    assert float(np.abs(out - reference).mean()) < 0.02


def test_light_ink_on_dark_background_is_not_inverted(reference: np.ndarray) -> None:
    chalk = draw_digit((200, 200), (30, 20, 170, 180), ink=230, paper=40)
    out = prepare_digit(chalk)
    assert_mnist_like(out)
    assert float(np.abs(out - reference).mean()) < 0.02


def test_specks_are_ignored(reference: np.ndarray) -> None:
    img = draw_digit((400, 400), (130, 120, 270, 280))  # the reference's digit, moved
    draw = ImageDraw.Draw(img)
    for x, y in [(5, 5), (390, 10), (8, 390), (395, 395), (200, 394), (20, 200)]:
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=0)  # dust far from the digit
    for x, y in [(110, 110), (290, 200), (200, 300)]:
        img.putpixel((x, y), 0)  # single dark pixels near it
    out = prepare_digit(img)
    assert_mnist_like(out)
    assert float(np.abs(out - reference).max()) < 0.02


def test_thin_pen_strokes_in_a_big_picture_are_thickened() -> None:
    img = draw_digit((1200, 1200), (200, 100, 1000, 1100), width=4)
    out = prepare_digit(img)
    assert_mnist_like(out)
    # Without thickening a 4 px stroke on a 1000 px digit would be 0.08 px wide.
    assert digitcrop.stroke_width(out.astype(np.float64)) >= digitcrop.TARGET_WIDTH


def test_mnist_sized_thin_strokes_are_not_thickened() -> None:
    img = draw_digit((28, 28), (5, 4, 23, 24), width=1, ink=255, paper=0)
    out = prepare_digit(img)
    assert float(np.mean(out > 0.5)) < 0.15


def test_wide_digit_keeps_its_aspect_ratio() -> None:
    img = Image.new("L", (300, 200), 255)
    ImageDraw.Draw(img).ellipse((30, 70, 270, 130), outline=0, width=12)  # 240 x 60: a wide 0
    out = prepare_digit(img)
    height, width = ink_box(out)
    assert width == 20
    assert 4 <= height <= 6  # 20 * 60 / 240 = 5
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1.0
    assert abs(cx - 14) <= 1.0


def test_tall_digit_keeps_its_aspect_ratio() -> None:
    img = Image.new("L", (100, 300), 0)
    ImageDraw.Draw(img).line([(50, 30), (50, 270)], fill=255, width=10)  # a "1"
    out = prepare_digit(img)
    height, width = ink_box(out)
    assert height == 20
    assert width <= 3


def test_small_digit_is_scaled_up() -> None:
    img = draw_digit((40, 40), (15, 15, 25, 25), width=2)
    out = prepare_digit(img)
    assert_mnist_like(out)


# ---------------------------------------------------------------------------------------------
# Formats and modes


def _rgba_black_on_transparent() -> Image.Image:
    mask = draw_digit((200, 200), (30, 20, 170, 180), ink=255, paper=0)
    rgba = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    rgba.putalpha(mask)  # black strokes, transparent elsewhere
    return rgba


def _rgba_white_on_transparent() -> Image.Image:
    mask = draw_digit((200, 200), (30, 20, 170, 180), ink=255, paper=0)
    rgba = Image.new("RGBA", (200, 200), (255, 255, 255, 0))
    rgba.putalpha(mask)
    return rgba


def _rgba_opaque_paper_transparent_margin() -> Image.Image:
    rgba = draw_digit((200, 200), (30, 20, 170, 180)).convert("RGBA")
    alpha = Image.new("L", (200, 200), 0)
    ImageDraw.Draw(alpha).rectangle((10, 5, 190, 195), fill=255)
    rgba.putalpha(alpha)
    return rgba


def _palette() -> Image.Image:
    return draw_digit((200, 200), (30, 20, 170, 180)).convert("RGB").convert("P")


def _palette_transparent() -> Image.Image:
    # Ink is palette index 1, paper index 0 marked transparent (like a GIF).
    digit = np.asarray(draw_digit((200, 200), (30, 20, 170, 180))) < 128
    img = Image.fromarray(digit.astype(np.uint8), mode="P")
    img.putpalette([255, 0, 255, 0, 0, 0])  # paper would be magenta if shown
    img.info["transparency"] = 0
    return img


def _sixteen_bit() -> Image.Image:
    pixels = np.asarray(draw_digit((200, 200), (30, 20, 170, 180)), dtype=np.uint16) * 257
    img = Image.fromarray(pixels)
    assert img.mode == "I;16"
    return img


def _one_bit() -> Image.Image:
    return draw_digit((200, 200), (30, 20, 170, 180)).convert("1")


def _cmyk() -> Image.Image:
    return draw_digit((200, 200), (30, 20, 170, 180)).convert("CMYK")


@pytest.mark.parametrize(
    ("make", "suffix"),
    [
        (_rgba_black_on_transparent, ".png"),
        (_rgba_white_on_transparent, ".png"),
        (_rgba_opaque_paper_transparent_margin, ".png"),
        (lambda: _rgba_black_on_transparent().convert("LA"), ".png"),
        (_palette, ".png"),
        (_palette, ".bmp"),
        (_palette_transparent, ".png"),
        (_palette_transparent, ".gif"),
        (_sixteen_bit, ".png"),
        (_sixteen_bit, ".tif"),
        (_one_bit, ".png"),
        (lambda: draw_digit((200, 200), (30, 20, 170, 180)).convert("RGB"), ".jpg"),
        (lambda: draw_digit((200, 200), (30, 20, 170, 180)), ".webp"),
        (_cmyk, ".jpg"),
        (_cmyk, ".tif"),
    ],
    ids=[
        "rgba-black-ink",
        "rgba-white-ink",
        "rgba-margin",
        "la",
        "palette",
        "palette-bmp",
        "palette-transparent",
        "gif-transparent",
        "i16-png",
        "i16-tiff",
        "1-bit",
        "jpeg",
        "webp",
        "cmyk-jpeg",
        "cmyk-tiff",
    ],
)
def test_formats_and_modes(
    tmp_path: Path, reference: np.ndarray, make: Callable[[], Image.Image], suffix: str
) -> None:
    img = make()
    path = tmp_path / f"digit{suffix}"
    try:
        img.save(path)
    except (OSError, KeyError) as exc:  # a codec missing from this Pillow build
        pytest.skip(f"cannot write {suffix}: {exc}")
    out = load_digit(path)
    assert_mnist_like(out)
    assert float(np.abs(out - reference).mean()) < 0.03


@pytest.mark.parametrize(
    "mode",
    [
        *("1", "L", "P", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "HSV", "LAB"),
        *("LA", "La", "RGBa", "PA", "I", "I;16", "I;16B", "F"),
    ],
)
def test_every_pillow_mode(reference: np.ndarray, mode: str) -> None:
    digit = draw_digit((200, 200), (30, 20, 170, 180))
    if mode in ("La", "RGBa"):
        img = digit.convert(mode[:-1] + "A").convert(mode)
    else:
        img = digit.convert(mode)
    assert img.mode == mode
    assert float(np.abs(prepare_digit(img) - reference).mean()) < 0.01


def test_sixteen_bit_png_is_read_as_sixteen_bit(tmp_path: Path) -> None:
    path = save(_sixteen_bit(), tmp_path / "d.png")
    with Image.open(path) as img:
        assert img.mode.startswith("I")
    assert_mnist_like(load_digit(path))


def test_float_and_32_bit_images(reference: np.ndarray) -> None:
    pixels = np.asarray(draw_digit((200, 200), (30, 20, 170, 180)), dtype=np.float32)
    for img in (
        Image.fromarray(pixels / 255, mode="F"),
        Image.fromarray(pixels * 1000, mode="F"),
        Image.fromarray(pixels.astype(np.int32) * 10, mode="I"),
    ):
        out = prepare_digit(img)
        assert float(np.abs(out - reference).mean()) < 0.03


def test_animated_gif_uses_the_first_frame(tmp_path: Path, reference: np.ndarray) -> None:
    first = draw_digit((200, 200), (30, 20, 170, 180))
    second = draw_digit((200, 200), (30, 20, 170, 180), shape=SEVEN)
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second])
    assert float(np.abs(load_digit(path) - reference).mean()) < 0.03


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_exif_orientation_is_honoured(tmp_path: Path, suffix: str) -> None:
    upright = draw_digit((240, 200), (40, 20, 180, 180), shape=SEVEN).convert("RGB")
    expected = prepare_digit(upright)
    # A camera held sideways stores the pixels turned and says "rotate 90° clockwise" (6).
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(stored, tmp_path / f"sideways{suffix}", exif=exif.tobytes())
    with Image.open(path) as check:
        assert check.getexif().get(0x0112) == 6
    out = load_digit(path)
    assert float(np.abs(out - expected).mean()) < 0.03
    # Ignoring the tag would give a very different picture.
    assert float(np.abs(prepare_digit(stored) - expected).mean()) > 0.1


def test_prepare_digit_honours_exif_too() -> None:
    upright = draw_digit((240, 200), (40, 20, 180, 180), shape=SEVEN)
    stored = upright.transpose(Image.Transpose.ROTATE_270)
    stored.getexif()[0x0112] = 8  # rotate 90° counter-clockwise to show
    np.testing.assert_allclose(prepare_digit(stored), prepare_digit(upright), atol=1e-6)


def test_large_photo_is_reduced_first(tmp_path: Path) -> None:
    big = photo_like(size=(2400, 1800), box=(800, 400, 1600, 1400), width=60)
    path = save(big.convert("RGB"), tmp_path / "big.jpg", quality=85)
    assert_mnist_like(load_digit(path))


# ---------------------------------------------------------------------------------------------
# Bad input: always a UserError naming the file, never a raw exception


def assert_user_error(path: Path, fragment: str) -> UserError:
    with pytest.raises(UserError) as info:
        load_digit(path)
    err = info.value
    assert fragment in err.message
    assert err.location.file == str(path)
    assert str(path) in str(err)
    assert err.expected
    assert err.hint
    return err


def test_missing_file(tmp_path: Path) -> None:
    assert_user_error(tmp_path / "nope.png", "not found")


def test_directory(tmp_path: Path) -> None:
    assert_user_error(tmp_path, "is a directory")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    err = assert_user_error(path, "empty")
    assert err.received == "0 bytes"


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "digit.png"
    path.write_text("this is not a picture of a digit\n")
    err = assert_user_error(path, "not an image")
    assert err.received == "a text file"
    assert err.__cause__ is not None


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "digit.jpg"
    path.write_bytes(bytes(range(256)) * 4)
    assert_user_error(path, "not an image")


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".gif", ".bmp"])
def test_truncated_image(tmp_path: Path, suffix: str) -> None:
    whole = save(photo_like().convert("RGB"), tmp_path / f"whole{suffix}")
    data = whole.read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    err = assert_user_error(path, "damaged or truncated")
    assert err.__cause__ is not None


def test_truncated_image_even_if_pillow_was_told_to_allow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    whole = save(photo_like(), tmp_path / "whole.png")
    path = tmp_path / "cut.png"
    path.write_bytes(whole.read_bytes()[:-2000])
    assert_user_error(path, "damaged or truncated")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored


def test_corrupt_png_data(tmp_path: Path) -> None:
    data = bytearray(save(photo_like(), tmp_path / "whole.png").read_bytes())
    start = data.index(b"IDAT") + 200
    data[start : start + 50] = bytes(50)  # damage the compressed pixels, not the length
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(data))
    assert_user_error(path, "damaged or truncated")


def png_claiming_size(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims ``width`` x ``height`` (CRC fixed, pixels never match)."""
    save(Image.new("1", (8, 8)), path)
    data = bytearray(path.read_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (7_000, 7_000),  # above MAX_PIXELS, below Pillow's limit: our own check
        (10_000, 10_000),  # where Pillow only warns (DecompressionBombWarning)
        (20_000, 20_000),  # where Pillow raises DecompressionBombError
        (1, 100_000_000),
    ],
)
def test_decompression_bomb(tmp_path: Path, width: int, height: int) -> None:
    before = Image.MAX_IMAGE_PIXELS
    path = png_claiming_size(tmp_path / "bomb.png", width, height)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning leaks out either
        err = assert_user_error(path, "too large")
    assert err.expected == f"at most {MAX_PIXELS:,} pixels"
    assert before == Image.MAX_IMAGE_PIXELS


def test_bomb_check_happens_before_decoding(tmp_path: Path) -> None:
    # The claimed size does not match the data: decoding would fail differently.
    path = png_claiming_size(tmp_path / "bomb.png", 8_000, 6_000)
    err = assert_user_error(path, "too large")
    assert err.received == f"8000 x 6000 = {8000 * 6000:,} pixels"


def test_just_under_the_limit_is_not_a_bomb(tmp_path: Path) -> None:
    # Claims a size we accept: the pixels are missing, so it is damaged, not too large.
    path = png_claiming_size(tmp_path / "big.png", 4_000, 3_000)
    assert_user_error(path, "damaged or truncated")


@pytest.mark.parametrize(
    "make",
    [
        lambda: Image.new("L", (100, 80), 255),
        lambda: Image.new("L", (100, 80), 0),
        lambda: Image.new("RGB", (28, 28), (200, 120, 40)),
        lambda: Image.new("RGBA", (50, 50), (0, 0, 0, 0)),
        lambda: Image.new("1", (30, 30), 1),
    ],
    ids=["white", "black", "orange", "transparent", "1-bit"],
)
def test_blank_image(tmp_path: Path, make: Callable[[], Image.Image]) -> None:
    path = save(make(), tmp_path / "blank.png")
    err = assert_user_error(path, "no digit found")
    assert err.received == "a blank image (all one colour)"


def test_blank_paper_photo(tmp_path: Path) -> None:
    """Uneven light and noise, but nothing written: no digit either."""
    w, h = 400, 300
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(3)
    paper = 140 + 60 * xx / w + 30 * yy / h + rng.normal(0, 4, (h, w))
    path = save(Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)), tmp_path / "paper.png")
    assert_user_error(path, "no digit found")


def test_prepare_digit_blank_has_no_location() -> None:
    with pytest.raises(UserError, match="no digit found") as info:
        prepare_digit(Image.new("L", (10, 10), 128))
    assert info.value.location.file is None


def test_unreadable_file(tmp_path: Path) -> None:
    import os

    path = save(draw_digit((50, 50), (10, 10, 40, 40)), tmp_path / "secret.png")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: permissions are not enforced")
        assert_user_error(path, "cannot read")
    finally:
        path.chmod(0o644)


def test_str_path_accepted(tmp_path: Path) -> None:
    path = save(draw_digit((100, 100), (20, 10, 80, 90)), tmp_path / "d.png")
    assert_mnist_like(load_digit(str(path)))


# ---------------------------------------------------------------------------------------------
# Many pictures at once: pictures of one size are prepared together (``prepare_digits``), with
# the same numbers as one at a time, to the bit


def _variety() -> list[Image.Image]:
    """Pictures that take every branch: small and large, both polarities, specks, thin pen
    strokes in a big picture (reduced 2x or more, thickened), colour and alpha, blank, too
    little contrast, nothing left after the background; several of each size."""
    rng = np.random.default_rng(11)
    pictures: list[Image.Image] = []
    for i, shape in enumerate([TWO, SEVEN, TWO, SEVEN]):
        pictures.append(draw_digit((28, 28), (4, 4, 24, 24), shape, width=3, ink=255, paper=0))
        pictures.append(draw_digit((28, 28), (5, 3, 23, 25), shape, width=2 + i % 2))
        pictures.append(draw_digit((40, 56), (8, 10, 32, 50), shape, width=4))
        speckled = draw_digit((160, 160), (55, 45, 105, 115), shape, width=6)
        ImageDraw.Draw(speckled).rectangle((2, 2, 4, 4), fill=0)  # far: a speck, dropped
        ImageDraw.Draw(speckled).rectangle((150, 150, 152, 151), fill=0)
        ImageDraw.Draw(speckled).rectangle((60, 125, 61, 126), fill=0)  # near the digit: kept
        pictures.append(speckled)
        pictures.append(photo_like(size=(112, 112), box=(20, 15, 92, 100), width=9, seed=i))
        pictures.append(draw_digit((400, 300), (120, 40, 280, 260), shape, width=3))
        noise = rng.normal(128, 2, (30, 30)).clip(0, 255).astype(np.uint8)
        pictures.append(Image.fromarray(noise, mode="L"))  # too little contrast
    pictures.append(_rgba_white_on_transparent())
    pictures.append(_palette_transparent())
    pictures.append(Image.new("L", (28, 28), 200))  # blank
    pictures.append(Image.new("RGB", (28, 28), (10, 200, 30)))  # blank
    return pictures


def _outcome(prepare: Callable[[], np.ndarray]) -> bytes | str:
    try:
        return prepare().tobytes()
    except UserError as err:
        return err.one_line()


@pytest.mark.parametrize("batch_pixels", [1, 4096, 2**17], ids=["one", "small", "default"])
def test_a_batch_gives_each_picture_its_digit_alone(
    monkeypatch: pytest.MonkeyPatch, batch_pixels: int
) -> None:
    from mnistctl.data import digitprep

    pictures = _variety()
    alone = [_outcome(lambda p=p: prepare_digit(p)) for p in pictures]
    assert sum(isinstance(a, str) for a in alone) == 6  # the 4 noise pictures and 2 blank
    monkeypatch.setattr(digitprep, "BATCH_PIXELS", batch_pixels)
    together = digitprep.prepare_digits([*pictures, *reversed(pictures)])
    got = [r.one_line() if isinstance(r, UserError) else r.tobytes() for r in together]
    assert got == alone + alone[::-1]


def test_load_digits_is_load_digit_of_each(tmp_path: Path) -> None:
    from mnistctl.data.images import load_digits

    paths = [save(p, tmp_path / f"{i:02d}.png") for i, p in enumerate(_variety())]
    paths.insert(3, tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    paths.append(tmp_path / "empty.png")
    got = [r.one_line() if isinstance(r, UserError) else r.tobytes() for r in load_digits(paths)]
    assert got == [_outcome(lambda p=p: load_digit(p)) for p in paths]
    assert got[3] == _outcome(lambda: load_digit(paths[3]))  # located: its own path
    assert str(paths[3]) in str(got[3])


def test_small_files_read_at_once_decode_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files up to READ_AT_ONCE are read in one go, larger ones by Pillow as it needs them:
    the same digits and the same errors either way."""
    from mnistctl.data import imageread

    good = save(draw_digit((200, 200), (30, 20, 170, 180)), tmp_path / "good.png")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:300])
    text = tmp_path / "text.png"
    text.write_text("not a picture\n")
    files = [good, truncated, text]
    at_once = [_outcome(lambda f=f: load_digit(f)) for f in files]
    monkeypatch.setattr(imageread, "READ_AT_ONCE", 0)
    assert [_outcome(lambda f=f: load_digit(f)) for f in files] == at_once
    assert isinstance(at_once[0], bytes)
    assert "damaged or truncated" in str(at_once[1])
    assert "not an image file" in str(at_once[2])
