export type { ScenarioLogEntry, ScenarioOptions } from './scenarios/scenario.js';
export { createScenario, drain, outcome, userRequest } from './scenarios/scenario.js';
