// The raw baseline the browser benchmarks divide by: a SharedWorker that does nothing but move
// messages. `echo` answers the sender with a result shaped like an exec result; `relay` forwards
// to every other connected tab; `relay-durable` first commits one small IndexedDB put (what the
// library must do before it may announce a write) and then relays; `durable-echo` commits one
// small IndexedDB put and then answers like `echo` (an acknowledged write, minus the database).
const ports = new Set();
let store = null;
function openStore() {
  store ??= new Promise((resolve, reject) => {
    const req = indexedDB.open('bench-relay', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('log');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return store;
}
function relay(from, tables) {
  for (const other of ports) if (other !== from) other.postMessage({ kind: 'change', tables });
}
onconnect = (event) => {
  const port = event.ports[0];
  ports.add(port);
  port.onmessage = ({ data }) => {
    if (data.kind === 'echo') {
      port.postMessage({ kind: 'response', id: data.id, ok: true, result: { columns: ['v'], rows: [{ v: data.reply }] } });
    } else if (data.kind === 'relay') {
      relay(port, data.tables);
    } else if (data.kind === 'relay-durable') {
      openStore().then((db) => {
        const tx = db.transaction('log', 'readwrite');
        tx.objectStore('log').put(data.row, data.key);
        tx.oncomplete = () => relay(port, data.tables);
      });
    } else if (data.kind === 'durable-echo') {
      openStore().then((db) => {
        const tx = db.transaction('log', 'readwrite');
        tx.objectStore('log').put(data.req, data.id);
        tx.oncomplete = () => port.postMessage({ kind: 'response', id: data.id, ok: true, result: { columns: [], rows: [] } });
      });
    } else if (data.kind === 'bye') {
      ports.delete(port);
    }
  };
  port.start();
};
