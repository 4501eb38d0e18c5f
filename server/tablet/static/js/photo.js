// Photos taken with the tablet's camera: shrunk to fit the attachment limit before they are
// stored on a document (the registration photo, the signed agreement), and read back from
// the local database to be shown.
import { store } from './shared.js';

/** Downscale to ≤1600 px and re-encode as JPEG until it fits the 2 MB attachment limit. */
export async function resizePhoto(file, maxBytes) {
  const bitmap = await createImageBitmap(file);
  for (const [edge, quality] of [[1600, 0.82], [1280, 0.75], [1024, 0.7], [800, 0.6]]) {
    const scale = Math.min(1, edge / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((ok) => canvas.toBlob(ok, 'image/jpeg', quality));
    if (blob && blob.size <= maxBytes) return blob;
  }
  throw new Error('照片过大，无法压缩到 2 MB 以内');
}

/** An object URL for an attachment on the device; throws while it is not downloaded yet. */
export async function attachmentUrl(docId, name) {
  return URL.createObjectURL(await store.local.getAttachment(docId, name));
}
