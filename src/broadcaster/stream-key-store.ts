// Keeps the broadcaster's stream key in IndexedDB so that a reload of the broadcast page keeps the
// same streamId. Browser only (IndexedDB); no signing, no network. Used by the broadcast page and
// later by the broadcaster session.

import { P2PError } from '../errors.ts';
import { exportStreamKey, generateStreamKey, importStreamKey, type StreamKeyPair } from '../crypto/stream-key.ts';

const STORE = 'keys';

function openDb(dbName: string): Promise<IDBDatabase> {
  const idb = globalThis.indexedDB;
  if (!idb) return Promise.reject(new P2PError('STORAGE_UNAVAILABLE', 'IndexedDB is not available here'));
  return new Promise((resolve, reject) => {
    const req = idb.open(dbName, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new P2PError('STORAGE_UNAVAILABLE', `IndexedDB open failed: ${String(req.error)}`));
  });
}

function run<T>(db: IDBDatabase, mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = op(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(new P2PError('STORAGE_UNAVAILABLE', `IndexedDB ${mode} failed: ${String(tx.error)}`));
  });
}

/**
 * Returns the stream key stored under `name`, or makes, stores and returns a new one. A stored key
 * that no longer imports is replaced (and the streamId changes).
 */
export async function loadOrCreateStreamKey(name = 'default', dbName = 'p2p-player-broadcaster'): Promise<StreamKeyPair> {
  const db = await openDb(dbName);
  try {
    const stored = await run(db, 'readonly', (s) => s.get(name));
    if (stored) {
      try {
        return await importStreamKey(stored);
      } catch {
        // fall through: replace an unreadable key
      }
    }
    const key = await generateStreamKey();
    const exported = await exportStreamKey(key);
    await run(db, 'readwrite', (s) => s.put(exported, name));
    return key;
  } finally {
    db.close();
  }
}

/** Forgets the stored key so that the next load makes a new streamId. */
export async function forgetStreamKey(name = 'default', dbName = 'p2p-player-broadcaster'): Promise<void> {
  const db = await openDb(dbName);
  try {
    await run(db, 'readwrite', (s) => s.delete(name));
  } finally {
    db.close();
  }
}
