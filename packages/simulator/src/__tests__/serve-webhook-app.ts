// Manual check: starts the test app and prints its URL (node --import tsx --conditions=@calltrack/source).
import { startWebhookApp } from './start-webhook-app';

const app = await startWebhookApp();
console.log(app.url);
