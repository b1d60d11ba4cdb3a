import type { AppendListener, MailboxId } from './mailbox-store.js';

/** The listener set behind `MailboxStore.onAppend`; a throwing listener does not stop the others. */
export class AppendListeners {
  private readonly listeners = new Set<AppendListener>();

  add(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(mailbox: MailboxId, seq: number): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(mailbox, seq);
      } catch {
        // A listener's failure is its own (a socket that closed mid-push).
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
