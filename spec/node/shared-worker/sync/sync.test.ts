import { durableKit } from './durable-kit.js';
import { memoryKit } from './replica-kit.js';
import { syncSuite } from './sync-suite.js';

syncSuite(memoryKit);
syncSuite(durableKit);
