// The sync log panel: newest entry on top, capped so a long session cannot grow the DOM forever.
import { setTime } from './time-words.js';

const MAX_ENTRIES = 200;

export function createSyncLog(list) {
  return {
    add(text, kind = 'info') {
      const item = document.createElement('li');
      item.className = `log-${kind}`;
      const time = document.createElement('time');
      setTime(time, new Date());
      const message = document.createElement('span');
      message.textContent = text;
      item.append(time, message);
      list.prepend(item);
      while (list.children.length > MAX_ENTRIES) list.lastElementChild?.remove();
    },
    clear() {
      list.replaceChildren();
    },
  };
}
