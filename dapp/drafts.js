// Half-filled claim forms kept across a reload: what was typed in this tab's sessionStorage, the chosen photos in
// this browser's IndexedDB (on the claimant's own device, as chosen, before sealing); both go once the claim is sent
// or the form is cancelled.
const PREFIX = "claims-oracle.draft.";
const DB_NAME = "claims-oracle-drafts";

/** Run one request on the photo store and resolve with its result when its transaction has completed. */
function photoStore(mode, request) {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DB_NAME, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore("photos");
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      const tx = db.transaction("photos", mode);
      const req = request(tx.objectStore("photos"));
      tx.oncomplete = () => { db.close(); resolve(req.result); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    };
  });
}

/** The key of one account's draft claim on one policy. */
export function draftKey(account, policyId) {
  return `${String(account).toLowerCase()}:${policyId}`;
}

/** Whether this tab holds a draft claim under `key` (something was typed or chosen in its form). */
export function hasDraft(key) {
  return sessionStorage.getItem(PREFIX + key) !== null;
}

/** Forget a draft: its typed fields and its photos. */
export async function clearDraft(key) {
  sessionStorage.removeItem(PREFIX + key);
  await photoStore("readwrite", (store) => store.delete(key));
}

/**
 * Keep a form's draft under `key`: restore the named inputs and the photos saved before (through `restoreFiles`),
 * then save both on every change; returns the save function, for changes no input event reports (dropped photos).
 */
export async function keepDraft(form, key, inputs, currentFiles, restoreFiles) {
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(PREFIX + key));
  } catch {
    saved = null;
  }
  if (saved) {
    for (const [name, el] of Object.entries(inputs)) if (typeof saved[name] === "string") el.value = saved[name];
    const photos = await photoStore("readonly", (store) => store.get(key)).catch(() => null);
    if (photos?.length) restoreFiles(photos);
  }
  const save = () => {
    sessionStorage.setItem(PREFIX + key, JSON.stringify(Object.fromEntries(Object.entries(inputs).map(([n, el]) => [n, el.value]))));
    photoStore("readwrite", (store) => store.put(currentFiles(), key)).catch(() => {}); // a private window may refuse
  };
  form.addEventListener("input", save);
  form.addEventListener("change", save);
  return save;
}
