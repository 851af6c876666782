"""Draws the Muaina app icons (a clipboard with a tick) with Pillow.

Run once after changing the design: `python pwa/tools/make_icons.py`. The PNGs are
committed, so neither the server nor the phone ever needs Pillow for them. The
maskable variant keeps the drawing inside the 80 % safe zone that Android masks to.
"""

from pathlib import Path

from PIL import Image, ImageDraw

ACCENT = (11, 79, 108)  # the one accent colour of the UI (css/app.css --accent)
PAPER = (255, 255, 255)
TICK = (21, 128, 61)
OUT = Path(__file__).resolve().parent.parent / "icons"


def draw(size: int, *, maskable: bool) -> Image.Image:
    # Drawn at 4x and reduced, which gives smooth edges without an SVG renderer.
    s = size * 4
    img = Image.new("RGB" if maskable else "RGBA", (s, s), ACCENT if maskable else (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if not maskable:
        d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=ACCENT)
    # Content box: the whole icon for "any", the inner 70 % for "maskable".
    inset = s * (0.15 if maskable else 0.0)
    box = s - 2 * inset

    def p(x: float, y: float) -> tuple[float, float]:
        return (inset + x * box, inset + y * box)

    d.rounded_rectangle((*p(0.24, 0.2), *p(0.76, 0.84)), radius=box * 0.05, fill=PAPER)
    d.rounded_rectangle((*p(0.38, 0.14), *p(0.62, 0.26)), radius=box * 0.03, fill=(200, 214, 222))
    d.line((p(0.34, 0.54), p(0.46, 0.67), p(0.67, 0.41)), fill=TICK, width=int(box * 0.07), joint="curve")
    img = img.resize((size, size), Image.LANCZOS)
    # Flat colours: a 64-colour palette keeps the anti-aliased edges and makes the PNG a third the size.
    return img.quantize(colors=64, method=Image.Quantize.FASTOCTREE if img.mode == "RGBA" else Image.Quantize.MEDIANCUT)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        draw(size, maskable=True).save(OUT / f"maskable-{size}.png", optimize=True)
    draw(180, maskable=True).save(OUT / "apple-touch-icon.png", optimize=True)


if __name__ == "__main__":
    main()
