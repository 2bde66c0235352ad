// Where the page keeps its latest offline bundle, with the anchor it opened under, between
// visits: one IndexedDB record. Only trust data is kept here, never a card or a verdict.

const DB = 'talent-counter';
const STORE = 'trust';
const KEY = 'latest';

function db() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function run(mode, op) {
  return db().then((d) => new Promise((resolve, reject) => {
    const tx = d.transaction(STORE, mode);
    const req = op(tx.objectStore(STORE));
    tx.oncomplete = () => {
      d.close();
      resolve(req.result);
    };
    tx.onerror = () => {
      d.close();
      reject(tx.error);
    };
  }));
}

/** The kept `{bundle, anchor, keptAt}`, or undefined. */
export const loadTrust = () => run('readonly', (s) => s.get(KEY));

/** Keeps `bundle` (compact JWS) with the `anchor` text it opened under. */
export const saveTrust = (bundle, anchor) => run('readwrite', (s) => s.put({ bundle, anchor, keptAt: Date.now() }, KEY));

/** Forgets what is kept. */
export const clearTrust = () => run('readwrite', (s) => s.delete(KEY));
