"""Tests for mnistctl.data.pictures.prepare: one picture made to a model's input (resize and
mnist_style), every picture made here with Pillow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnistctl.data.pictures.prepare import (
    PREPARE_MODES,
    PictureShape,
    is_grey,
    prepare_picture,
)
from mnistctl.errors import UserError

GREY = PictureShape(28, 28, 1)
RGB = PictureShape(28, 28, 3)


def digit(size: tuple[int, int] = (120, 160)) -> Image.Image:
    """A dark stroke on white paper, something like a 7."""
    img = Image.new("L", size, 255)
    w, h = size
    ImageDraw.Draw(img).line(
        [(0.2 * w, 0.15 * h), (0.8 * w, 0.15 * h), (0.4 * w, 0.9 * h)], fill=0, width=w // 10
    )
    return img


def ringed(size: tuple[int, int], ring: int, inside: int, mode: str = "L") -> Image.Image:
    """A picture of ``inside`` with a one-pixel ring of ``ring`` around it."""
    w, h = size
    arr = np.full((h, w), inside, np.uint8)
    arr[0, :] = arr[-1, :] = arr[:, 0] = arr[:, -1] = ring
    img = Image.fromarray(arr, "L")
    return img.convert(mode) if mode != "L" else img


def test_modes_are_the_two() -> None:
    assert PREPARE_MODES == ("resize", "mnist_style")


@pytest.mark.parametrize("shape", [GREY, RGB, PictureShape(32, 20, 1), PictureShape(10, 40, 3)])
@pytest.mark.parametrize(
    "source",
    ["L", "RGB", "RGBA", "P", "1", "LA", "I;16", "I", "F", "CMYK", "YCbCr", "LAB", "HSV", "RGBa"],
)
def test_every_mode_becomes_the_shape_in_uint8(shape: PictureShape, source: str) -> None:
    colour = source in ("P", "CMYK", "YCbCr", "LAB", "HSV", "RGBa")
    img = ringed((50, 30), 200, 40).convert("RGB" if colour else "L")
    if source == "I;16":
        img = Image.fromarray(np.asarray(img).astype(np.uint16) * 257)
    elif source != img.mode:
        img = img.convert(source)
    out = prepare_picture(img, shape, "resize")
    assert out.dtype == np.uint8
    assert out.shape == shape.dims


def test_the_fast_path_returns_the_picture_as_it_is() -> None:
    arr = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    out = prepare_picture(Image.fromarray(arr, "L"), GREY, "resize")
    assert np.array_equal(out, arr)
    rgb = np.random.default_rng(1).integers(0, 256, (28, 28, 3), dtype=np.uint8)
    assert np.array_equal(prepare_picture(Image.fromarray(rgb, "RGB"), RGB, "resize"), rgb)


def test_the_aspect_is_kept_and_the_margin_is_the_border_colour() -> None:
    # 40 wide, 20 high -> 28 x 14 in the middle of 28 x 28, 7 rows above and below.
    out = prepare_picture(ringed((40, 20), 200, 50), GREY, "resize")
    assert np.all(out[:7] == 200) and np.all(out[21:] == 200)
    assert np.all(out[7:21, 0] > 100)  # the picture's own ring, at the sides
    assert np.median(out[10:18, 5:23]) < 60  # its inside


def test_a_tall_picture_is_centred_between_columns() -> None:
    out = prepare_picture(ringed((10, 40), 0, 255), GREY, "resize")  # 7 x 28 in the middle
    assert np.all(out[:, :10] == 0) and np.all(out[:, 18:] == 0)
    assert out[14, 14] > 240


def test_a_white_background_photo_gets_no_black_frame() -> None:
    img = Image.new("RGB", (300, 200), (250, 250, 250))
    ImageDraw.Draw(img).ellipse((100, 50, 200, 150), fill=(200, 0, 0))
    out = prepare_picture(img, RGB, "resize")
    assert out[0].min() >= 245 and out[-1].min() >= 245


def test_transparent_pixels_are_white() -> None:
    arr = np.zeros((28, 28, 4), np.uint8)  # black, fully transparent
    arr[10:18, 10:18] = (0, 0, 255, 255)  # an opaque blue square
    out = prepare_picture(Image.fromarray(arr, "RGBA"), RGB, "resize")
    assert tuple(out[0, 0]) == (255, 255, 255)
    assert tuple(out[14, 14]) == (0, 0, 255)
    grey = prepare_picture(Image.fromarray(arr, "RGBA"), GREY, "resize")
    assert grey[0, 0] == 255 and grey[14, 14] < 50


def test_sixteen_bit_is_scaled_from_its_whole_range() -> None:
    arr = np.array([[0, 32768], [65535, 257]], np.uint16)
    img = Image.fromarray(arr)
    assert img.mode == "I;16"
    out = prepare_picture(img, PictureShape(2, 2, 1), "resize")
    assert out.tolist() == [[0, 128], [255, 1]]


def test_float_pictures_in_zero_to_one_are_scaled() -> None:
    img = Image.fromarray(np.array([[0.0, 0.5], [1.0, 0.25]], np.float32))
    assert prepare_picture(img, PictureShape(2, 2, 1), "resize").tolist() == [[0, 128], [255, 64]]


def test_a_palette_picture_keeps_its_colours() -> None:
    img = Image.new("P", (28, 28), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.paste(1, (0, 0, 14, 28))
    out = prepare_picture(img, RGB, "resize")
    assert tuple(out[0, 0]) == (0, 255, 0) and tuple(out[0, 27]) == (255, 0, 0)


def test_grey_is_repeated_into_three_channels() -> None:
    out = prepare_picture(ringed((28, 28), 10, 90), RGB, "resize")
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_small_pictures_are_enlarged() -> None:
    out = prepare_picture(ringed((7, 7), 0, 255), GREY, "resize")
    assert out.shape == (28, 28) and out[14, 14] == 255 and out[0, 0] == 0


def test_mnist_style_is_white_on_black_28x28() -> None:
    out = prepare_picture(digit(), GREY, "mnist_style")
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert out.max() == 255 and out[0].max() == 0  # ink bright, border black


def test_mnist_style_is_fitted_to_another_shape() -> None:
    out = prepare_picture(digit(), PictureShape(32, 32, 3), "mnist_style")
    assert out.shape == (32, 32, 3)
    assert np.array_equal(out[..., 0], out[..., 2]) and out[0, 0, 0] == 0


def test_mnist_style_refuses_a_blank_picture() -> None:
    with pytest.raises(UserError, match="no digit"):
        prepare_picture(Image.new("L", (40, 40), 255), GREY, "mnist_style")


def test_an_unknown_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        prepare_picture(digit(), GREY, "stretch")


@pytest.mark.parametrize(("h", "w", "c"), [(0, 28, 1), (28, 28, 2), (28, -1, 3)])
def test_a_shape_is_checked(h: int, w: int, c: int) -> None:
    with pytest.raises(ValueError):
        PictureShape(h, w, c)


def test_greyness() -> None:
    assert is_grey(Image.new("L", (2, 2))) and is_grey(Image.new("I;16", (2, 2)))
    assert not is_grey(Image.new("RGB", (2, 2)))
    grey_palette = Image.new("P", (2, 2))
    grey_palette.putpalette([v for i in range(256) for v in (i, i, i)])
    assert is_grey(grey_palette)
    colour_palette = Image.new("P", (2, 2))
    colour_palette.putpalette([255, 0, 0] * 256)
    assert not is_grey(colour_palette)
