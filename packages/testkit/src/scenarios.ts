export type { EchoProvider, EchoProviderOptions } from './scenarios/echo-provider.js';
export { createEchoProvider, echoProviderPlugin } from './scenarios/echo-provider.js';
export type { ScenarioLogEntry, ScenarioOptions } from './scenarios/scenario.js';
export { createScenario, drain, outcome, userRequest } from './scenarios/scenario.js';
export type {
  ScriptedCallStart,
  ScriptedProvider,
  ScriptedProviderOptions,
  ScriptedStep,
} from './scenarios/scripted-provider.js';
export { createScriptedProvider, usage } from './scenarios/scripted-provider.js';
