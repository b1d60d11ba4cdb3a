// The raw baseline the browser benchmarks divide by: a SharedWorker that does nothing but move
// messages. `echo` answers the sender with a result shaped like an exec result; `relay` forwards
// to every other connected tab.
const ports = new Set();
onconnect = (event) => {
  const port = event.ports[0];
  ports.add(port);
  port.onmessage = ({ data }) => {
    if (data.kind === 'echo') {
      port.postMessage({ kind: 'response', id: data.id, ok: true, result: { columns: ['v'], rows: [{ v: data.reply }] } });
    } else if (data.kind === 'relay') {
      for (const other of ports) if (other !== port) other.postMessage({ kind: 'change', tables: data.tables });
    } else if (data.kind === 'bye') {
      ports.delete(port);
    }
  };
  port.start();
};
