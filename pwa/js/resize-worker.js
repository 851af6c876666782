// Resizes a camera photo off the page's thread: decoding a 12 MP JPEG, scaling it and encoding the
// upload copy froze a slow phone's screen for 3–4 s a photo (photos.prepare). Message in: {id, file};
// out: {id, blob, thumb, width, height} or {id, error}. The thumbnail is made from the upload copy,
// not the 12 MP bitmap.

import { MAX_SIDE, QUALITY, THUMB_QUALITY, THUMB_SIDE, drawJpeg, fit } from './resize.js';

self.onmessage = async ({ data: { id, file } }) => {
  let bitmap = null;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const [w, h] = fit(bitmap.width, bitmap.height, MAX_SIDE);
    const main = await drawJpeg(bitmap, w, h, QUALITY);
    bitmap.close();
    bitmap = null;
    const [tw, th] = fit(w, h, THUMB_SIDE);
    const thumb = await drawJpeg(main.canvas, tw, th, THUMB_QUALITY);
    self.postMessage({ id, blob: main.blob, thumb: thumb.blob, width: w, height: h });
  } catch (err) {
    self.postMessage({ id, error: String(err?.message || err) });
  } finally {
    bitmap?.close();
  }
};
