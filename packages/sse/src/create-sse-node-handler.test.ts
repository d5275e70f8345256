import { describeSseHandler } from './__tests__/describe-sse-handler';
import { createSseNodeHandler } from './create-sse-node-handler';

describeSseHandler('createSseNodeHandler', (options) => createSseNodeHandler(options));
