import { toNodeHandler } from '@calltrack/core/node';
import { describeSsePresence } from './__tests__/describe-sse-presence';
import { createSseHandler } from './create-sse-handler';
import { createSseNodeHandler } from './create-sse-node-handler';

describeSsePresence('createSseNodeHandler', (options) => createSseNodeHandler(options));
describeSsePresence('createSseHandler + toNodeHandler', (options) =>
  toNodeHandler(createSseHandler(options)),
);
