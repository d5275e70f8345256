import { describeSseHandler } from './__tests__/describe-sse-handler';
import { describeSseOrigins } from './__tests__/describe-sse-origins';
import { createSseNodeHandler } from './create-sse-node-handler';

describeSseHandler('createSseNodeHandler', (options) => createSseNodeHandler(options));
describeSseOrigins('createSseNodeHandler', (options) => createSseNodeHandler(options));
