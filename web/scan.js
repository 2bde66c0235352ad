// Reads a QR code from the camera: the browser's BarcodeDetector where it exists, else the
// bundled jsQR (loaded only when needed) on frames drawn to a canvas.

let jsqrLoading = null;

function loadJsQR() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  jsqrLoading ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/vendor/jsQR.js';
    s.onload = () => resolve(window.jsQR);
    s.onerror = () => reject(new Error('jsQR did not load'));
    document.head.append(s);
  });
  return jsqrLoading;
}

async function detector() {
  if ('BarcodeDetector' in window) {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (formats.includes('qr_code')) {
      const d = new window.BarcodeDetector({ formats: ['qr_code'] });
      return async (video) => (await d.detect(video))[0]?.rawValue ?? null;
    }
  }
  const jsQR = await loadJsQR();
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    if (!canvas.width) return null;
    ctx.drawImage(video, 0, 0);
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    return jsQR(img.data, img.width, img.height)?.data ?? null;
  };
}

/** Starts the camera in `video`; calls `onCode(text)` once with the first QR code read. */
export async function scan(video, onCode) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const detect = await detector();
  let stopped = false;
  const stop = () => {
    stopped = true;
    stream.getTracks().forEach((tr) => tr.stop());
    video.srcObject = null;
    video.hidden = true;
  };
  const tick = async () => {
    if (stopped) return;
    const code = await detect(video).catch(() => null);
    if (code) {
      stop();
      onCode(code);
    } else {
      setTimeout(tick, 150);
    }
  };
  tick();
  return stop;
}
