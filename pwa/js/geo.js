// GPS: the fix recorded on an inspection and on each photo, and the distance to the station.

let last = null;  // {lat, lon, accuracy_m, at}

const toFix = (pos) => ({
  lat: pos.coords.latitude,
  lon: pos.coords.longitude,
  accuracy_m: Math.round(pos.coords.accuracy),
  at: pos.timestamp || Date.now(),
});

// One fix, or null when GPS is off, denied or slow. Never throws: the work goes on without it.
export function getFix({ timeout = 15000, maximumAge = 60000 } = {}) {
  if (!navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (pos) => { last = toFix(pos); resolve(last); },
      () => resolve(null),
      { enableHighAccuracy: true, timeout, maximumAge },
    );
  });
}

// Follows the position while a screen shows it; returns the function that stops following.
export function watch(onFix, onError) {
  if (!navigator.geolocation) { onError?.({ code: 0 }); return () => {}; }
  const id = navigator.geolocation.watchPosition(
    (pos) => { last = toFix(pos); onFix(last); },
    (err) => onError?.(err),
    { enableHighAccuracy: true, timeout: 30000, maximumAge: 10000 },
  );
  return () => navigator.geolocation.clearWatch(id);
}

// The last fix if it is recent enough to describe where a photo was just taken.
export function recentFix(maxAgeMs = 120000) {
  return last && Date.now() - last.at <= maxAgeMs ? last : null;
}

// Great-circle distance in metres (haversine, mean Earth radius).
export function distanceM(lat1, lon1, lat2, lon2) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}

export const FAR_M = 300;
