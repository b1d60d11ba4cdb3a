import { MemoryMailboxStore } from '../../../../peer-server/mailbox/memory-mailbox-store.js';
import { mailboxStoreAcceptance } from './store-acceptance.js';

mailboxStoreAcceptance('memory', { open: async () => new MemoryMailboxStore() });
