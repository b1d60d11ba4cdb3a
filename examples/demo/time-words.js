// Times as people read them: relative when recent ("2 min ago"), the local date and time otherwise;
// the exact local time goes in the element's title.

/** SQLite's CURRENT_TIMESTAMP ('YYYY-MM-DD HH:MM:SS', UTC) as a Date; null for anything else. */
export function fromSqliteUtc(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text ?? '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

export function relativeTime(date, now = Date.now()) {
  const seconds = Math.round((now - date.getTime()) / 1000);
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/** Fills a <time> element for `date` and keeps it current (see refreshTimes). */
export function setTime(element, date) {
  element.dateTime = date.toISOString();
  element.title = date.toLocaleString();
  element.textContent = relativeTime(date);
}

/** Re-renders every <time datetime> under `root`; the demo calls it every 30 s. */
export function refreshTimes(root) {
  for (const element of root.querySelectorAll('time[datetime]')) element.textContent = relativeTime(new Date(element.dateTime));
}
