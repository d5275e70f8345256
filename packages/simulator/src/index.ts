export type { CallScript, ScriptedPayload, ScriptedWebhook } from './call-script';
export type { CreateCallScriptOptions } from './create-call-script';
export { createCallScript } from './create-call-script';
export { createProviderApi } from './create-provider-api';
export { createSimulator } from './create-simulator';
export type { SimulatorCredentials } from './demo-credentials';
export { demoCredentials } from './demo-credentials';
export { demoLines } from './demo-lines';
export { findDemoLine } from './find-demo-line';
export type {
  ProviderApi,
  ProviderApiCall,
  ProviderApiCallFilter,
  ProviderApiFault,
  ProviderApiFaultRule,
  ProviderApiOperation,
  ProviderApiOptions,
  ProviderApiRequestInfo,
} from './provider-api';
export type { CreateSignedRequestOptions } from './sign-and-send';
export { createSignedRequest } from './sign-and-send';
export type { SimulatedCall } from './simulated-call';
export type { SimulatedOutcome } from './simulated-outcome';
export { defaultOutcomeWeights, simulatedOutcomes } from './simulated-outcome';
export type { Simulator } from './simulator';
export type { SimulatorDelivery } from './simulator-delivery';
export type { SimulatorLine } from './simulator-line';
export type { RunCallOptions, SimulatorOptions, StopOptions } from './simulator-options';
export type { SimulatorProvider } from './simulator-provider';
export { simulatorProviders } from './simulator-provider';
export type { SimulatorRetryFailure, SimulatorRetryPolicy } from './simulator-retry-policy';
export type { SimulatorStats } from './simulator-stats';
export { synthesizeRecording } from './synthesize-recording';
