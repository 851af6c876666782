"""Photos are resized on the phone off the page's thread, upright, to at most 2048 px with a 320 px
thumbnail; what is not a picture is refused as before.

On a slow phone, resizing a 12 MP camera photo on the page froze the screen for 3–4 s a photo.
"""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.e2e.test_pwa_support import phone_context, sign_in, watch_errors

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PREPARE = """async ([b64, type]) => {
  const photos = await import('/js/photos.js');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  try {
    const made = await photos.prepare(new File([bytes], 'p.jpg', { type }));
    const main = await createImageBitmap(made.blob);
    const thumb = await createImageBitmap(made.thumb);
    return { width: made.width, height: made.height, main: [main.width, main.height], thumb: [thumb.width, thumb.height],
             type: made.blob.type, where: { ...photos.resized } };
  } catch (err) {
    return { error: String(err.message || err), where: { ...photos.resized } };
  }
}"""


def camera_jpeg(orientation: int) -> str:
    """A 4000×3000 camera JPEG whose EXIF says how to turn it (6: a quarter turn clockwise)."""
    image = Image.new("RGB", (4000, 3000), (120, 90, 60))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return base64.b64encode(out.getvalue()).decode()


def test_a_camera_photo_is_resized_upright_in_a_worker_and_a_non_picture_is_refused(pwa_server, browser):
    context = phone_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)

    upright = page.evaluate(PREPARE, [camera_jpeg(1), "image/jpeg"])
    assert upright["width"] == 2048 and upright["height"] == 1536, upright
    assert upright["main"] == [2048, 1536] and upright["thumb"] == [320, 240] and upright["type"] == "image/jpeg"
    turned = page.evaluate(PREPARE, [camera_jpeg(6), "image/jpeg"])
    assert turned["main"] == [1536, 2048] and turned["thumb"] == [240, 320], turned
    # Both in the worker: the page's thread never resized one.
    assert turned["where"] == {"worker": 2, "page": 0}

    junk = page.evaluate(PREPARE, [base64.b64encode(b"<html>not a photo</html>").decode(), "image/jpeg"])
    assert "error" in junk and junk["where"] == {"worker": 2, "page": 0}, junk
    assert errors == []
    context.close()


def test_a_phone_with_no_worker_resizes_on_the_page(pwa_server, browser):
    context = phone_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    page.evaluate("() => { window.Worker = undefined; }")  # before the first photo starts one
    made = page.evaluate(PREPARE, [camera_jpeg(6), "image/jpeg"])
    assert made["main"] == [1536, 2048] and made["thumb"] == [240, 320], made
    assert made["where"] == {"worker": 0, "page": 1}
    assert errors == []
    context.close()
