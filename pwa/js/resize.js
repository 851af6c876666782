// The size a photo is scaled to: its longest side at most `maxSide`, never enlarged, never zero.
export function fit(width, height, maxSide) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}
