// Resizes a camera photo off the page's thread: decoding a 12 MP JPEG, scaling it and encoding the
// upload copy froze a slow phone's screen for 3–4 s a photo (photos.prepare). Message in: {id, file};
// out: {id, blob, thumb, width, height} or {id, error}. The thumbnail is made from the upload copy,
// not the 12 MP bitmap.

import { fit } from './resize.js';

async function encode(source, w, h, quality) {
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, w, h);
  return { canvas, blob: await canvas.convertToBlob({ type: 'image/jpeg', quality }) };
}

self.onmessage = async ({ data: { id, file, maxSide, thumbSide, quality } }) => {
  let bitmap = null;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const [w, h] = fit(bitmap.width, bitmap.height, maxSide);
    const main = await encode(bitmap, w, h, quality);
    bitmap.close();
    bitmap = null;
    const [tw, th] = fit(w, h, thumbSide);
    const thumb = await encode(main.canvas, tw, th, 0.7);
    self.postMessage({ id, blob: main.blob, thumb: thumb.blob, width: w, height: h });
  } catch (err) {
    self.postMessage({ id, error: String(err?.message || err) });
  } finally {
    bitmap?.close();
  }
};
