export type { NodeRequestUrlOptions, TrustProxy } from './node/node-request-url';
export { nodeRequestUrl } from './node/node-request-url';
export type { NodeHandler, ToNodeHandlerOptions } from './node/to-node-handler';
export { toNodeHandler } from './node/to-node-handler';
